"""media.handbacks: requeues by a stopping worker, which do not count as attempts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("media", sa.Column("handbacks", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("media", "handbacks")

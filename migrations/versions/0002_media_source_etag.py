"""media.source_etag: the source object the API checked, so the worker fetches only that one

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("media", sa.Column("source_etag", sa.String(length=128), nullable=True))


def downgrade() -> None:
    op.drop_column("media", "source_etag")

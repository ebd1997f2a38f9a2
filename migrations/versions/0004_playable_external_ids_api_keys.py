"""media.playable_at, media.external_id and metadata; api_keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("media", sa.Column("playable_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("media", sa.Column("external_id", sa.String(length=255), nullable=True))
    op.add_column(
        "media",
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.create_index("ix_media_owner_external_id", "media", ["owner_id", "external_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_api_keys_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index("ix_api_keys_owner_created", "api_keys", ["owner_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_owner_created", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index("ix_media_owner_external_id", table_name="media")
    op.drop_column("media", "metadata")
    op.drop_column("media", "external_id")
    op.drop_column("media", "playable_at")

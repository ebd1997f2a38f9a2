"""One uploaded video or image, its processing state and its outputs."""

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from reelay_core.db.models.base import Base, utcnow


class MediaKind(enum.StrEnum):
    VIDEO = "video"
    IMAGE = "image"


class MediaStatus(enum.StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({MediaStatus.COMPLETED, MediaStatus.FAILED, MediaStatus.CANCELED})


def _stored_as_text(enum_type: type[enum.StrEnum], length: int) -> Enum:
    """The enum's values in the existing VARCHAR column: no database type, no schema change."""
    return Enum(
        enum_type,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


class Media(Base):
    __tablename__ = "media"
    __table_args__ = (
        Index("ix_media_owner_created", "owner_id", "created_at", "id"),
        Index("ix_media_status_lease", "status", "lease_expires_at"),
        Index("ix_media_owner_external_id", "owner_id", "external_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[MediaKind] = mapped_column(_stored_as_text(MediaKind, 16))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[MediaStatus] = mapped_column(
        _stored_as_text(MediaStatus, 32), default=MediaStatus.AWAITING_UPLOAD
    )
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(32))
    eta_seconds: Mapped[int | None] = mapped_column(Integer)
    # The attempt number fences the worker's writes and names its job; it advances on every
    # requeue. `handbacks` counts the requeues that were not failures (a worker stopped on
    # purpose), so attempt - handbacks is what the item's own faults have cost.
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    handbacks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    job_id: Mapped[str | None] = mapped_column(String(128))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    source: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    outputs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    source_key: Mapped[str] = mapped_column(String(512))
    output_prefix: Mapped[str] = mapped_column(String(512))
    upload_id: Mapped[str | None] = mapped_column(String(255))
    # The source's ETag when `complete` checked it: the worker fetches only that object.
    source_etag: Mapped[str | None] = mapped_column(String(128))
    # Set when the HLS master playlist can first be played (possibly while still processing);
    # a new attempt clears it, so a retried item never serves a mix of two attempts' segments.
    playable_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The caller's own reference and a small passthrough object, set at creation, never read.
    external_id: Mapped[str | None] = mapped_column(String(255))
    # `metadata` is reserved on declarative classes: the attribute has another name.
    client_metadata: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, default=dict, server_default="{}"
    )
    last_event_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def playable(self) -> bool:
        # A video completed before outputs were published while encoding has no playable_at.
        completed_video = self.kind == MediaKind.VIDEO and self.status == MediaStatus.COMPLETED
        return self.playable_at is not None or completed_video

    @property
    def attempts(self) -> int:
        """Attempts that counted: every attempt but those a stopping worker handed back."""
        return self.attempt - self.handbacks

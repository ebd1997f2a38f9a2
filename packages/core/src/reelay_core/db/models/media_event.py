"""The stored history of a media item's progress: what SSE clients replay after reconnecting."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from reelay_core.db.models.base import Base, utcnow


class MediaEvent(Base):
    __tablename__ = "media_events"
    __table_args__ = (UniqueConstraint("media_id", "seq", name="uq_media_events_media_id_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    media_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

"""Media events: written to Postgres (the truth) with a per-media sequence, then published.

The caller commits between `record` and `publish`, so a subscriber never sees an event that a
reconnecting client could not replay from the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_core.db import models as m

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "media:"


def channel(media_id: uuid.UUID | str) -> str:
    return f"{CHANNEL_PREFIX}{media_id}"


@dataclass(frozen=True)
class MediaEventRecord:
    media_id: str
    owner_id: str
    seq: int
    event: str
    data: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> MediaEventRecord:
        return cls(**json.loads(raw))


def snapshot(media: m.Media) -> dict[str, Any]:
    """What every event's data carries: enough to render the item's progress."""
    data: dict[str, Any] = {
        "id": str(media.id),
        "status": media.status,
        "progress": round(media.progress, 2),
        "stage": media.stage,
        "eta_seconds": media.eta_seconds,
        "attempts": media.attempt,
    }
    if media.error_code:
        data["error"] = {"code": media.error_code, "message": media.error_message}
    return data


async def record(
    session: AsyncSession,
    media_id: uuid.UUID,
    event: str,
    *,
    expect: dict[str, Any] | None = None,
    **changes: Any,
) -> MediaEventRecord | None:
    """Apply `changes` to the media row and store the event, in the caller's transaction.

    The UPDATE takes the row lock, so sequence numbers are gapless even with concurrent
    writers. `expect` fences the write (e.g. `{"attempt": 2, "status": "processing"}`): when
    the row no longer matches, or is gone, nothing is written and None is returned.
    """
    fence = [getattr(m.Media, column) == value for column, value in (expect or {}).items()]
    media = (
        await session.execute(
            update(m.Media)
            .where(m.Media.id == media_id, *fence)
            .values(last_event_seq=m.Media.last_event_seq + 1, **changes)
            .returning(m.Media)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if media is None:
        return None
    await session.refresh(media)
    data = snapshot(media)
    session.add(m.MediaEvent(media_id=media.id, seq=media.last_event_seq, event=event, data=data))
    await session.flush()
    return MediaEventRecord(str(media.id), str(media.owner_id), media.last_event_seq, event, data)


async def publish(redis: Redis, record: MediaEventRecord | None) -> None:
    if record is not None:
        await redis.publish(channel(record.media_id), record.to_json())


# Short: while Redis is down its client retries for half a minute, and a publish must not hold
# up a request or FFmpeg's progress reading for that long.
PUBLISH_TIMEOUT = 2.0


async def publish_best_effort(redis: Redis, record: MediaEventRecord | None) -> bool:
    """Publish a committed event; on failure SSE clients still replay it from Postgres."""
    try:
        await asyncio.wait_for(publish(redis, record), PUBLISH_TIMEOUT)
    except Exception as exc:
        log.warning("could not publish an event of %s: %r", record and record.media_id, exc)
        return False
    return True

"""Media events: written to Postgres (the truth) with a per-media sequence, then published.

`record` writes in the caller's transaction; `publish` runs only after it commits (see
`reelay_core.effects`), so a subscriber never sees an event that a reconnecting client could
not replay from the database.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_core.db import models as m

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
        # Which collection the item is in, so a client that learns of it from /events can fetch
        # it without trying both.
        "kind": media.kind,
        "status": media.status,
        "progress": round(media.progress, 2),
        "stage": media.stage,
        "eta_seconds": media.eta_seconds,
        "attempts": media.attempts,
        "playable": media.playable,
    }
    if media.error_code:
        data["error"] = {"code": media.error_code, "message": media.error_message}
    return data


async def record(
    session: AsyncSession,
    media_id: uuid.UUID,
    event: str,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    **changes: Any,
) -> MediaEventRecord | None:
    """Apply `changes` to the media row and store the event, in the caller's transaction.

    The UPDATE takes the row lock, so sequence numbers are gapless even with concurrent
    writers. `where` fences the write (e.g. this attempt, still processing): when the row no
    longer matches, or is gone, nothing is written and None is returned.
    """
    media = (
        await session.execute(
            update(m.Media)
            .where(m.Media.id == media_id, *where)
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


async def publish(redis: Redis, record: MediaEventRecord) -> None:
    await redis.publish(channel(record.media_id), record.to_json())

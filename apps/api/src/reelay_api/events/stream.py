"""The event sequence one SSE client receives: catch-up from Postgres, then live, no gap, no duplicate."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from reelay_core import events, lifecycle
from reelay_core.db import models as m
from reelay_core.events import MediaEventRecord
from sse_starlette import ServerSentEvent

from reelay_api.events.hub import RESYNC
from reelay_api.resources import Resources

RETRY_MS = 3000
# Also the interval at which a quiet stream re-reads Postgres: a safety net for events whose
# publish was lost (Redis down while the worker recorded them).
POLL_SECONDS = 15.0


def to_sse(record: MediaEventRecord, *, with_media_id: bool = False, retry: int | None = None) -> ServerSentEvent:
    data: dict[str, Any] = dict(record.data)
    if with_media_id:
        data["media_id"] = record.media_id
    return ServerSentEvent(data=json.dumps(data), event=record.event, id=str(record.seq), retry=retry)


def current_state(media: m.Media) -> MediaEventRecord:
    return MediaEventRecord(
        str(media.id), str(media.owner_id), media.last_event_seq,
        lifecycle.event_name(media.status), events.snapshot(media),
    )


async def media_events(
    resources: Resources, media_id: uuid.UUID, last_event_id: int | None
) -> AsyncIterator[ServerSentEvent]:
    # Subscribe before reading Postgres: anything recorded meanwhile arrives on the queue and
    # is dropped there if the catch-up already sent it.
    sub = resources.hub.subscribe(media_id=str(media_id))
    try:
        sent = last_event_id or 0
        async with resources.sessions() as db:
            media = await db.get(m.Media, media_id)
            if media is None:
                return
            if last_event_id is None:
                backlog = [current_state(media)]
            else:
                backlog = await events.stored_after(db, media_id, sent)
                if not backlog and lifecycle.is_terminal_event(lifecycle.event_name(media.status)):
                    backlog = [current_state(media)]
        first = True
        while True:
            for record in backlog:
                if record.seq <= sent and not first:
                    continue
                yield to_sse(record, retry=RETRY_MS if first else None)
                first = False
                sent = max(sent, record.seq)
                if lifecycle.is_terminal_event(record.event):
                    return
            try:
                item = await asyncio.wait_for(sub.queue.get(), timeout=POLL_SECONDS)
            except TimeoutError:
                item = RESYNC
            if item == RESYNC:
                async with resources.sessions() as db:
                    backlog = await events.stored_after(db, media_id, sent)
            else:
                assert isinstance(item, MediaEventRecord)
                backlog = [item] if item.seq > sent else []
    finally:
        resources.hub.unsubscribe(sub)


async def user_events(resources: Resources, owner_id: uuid.UUID) -> AsyncIterator[ServerSentEvent]:
    """Every live event of the caller's media; a `resync` event asks a dashboard to refetch."""
    sub = resources.hub.subscribe(owner_id=str(owner_id))
    try:
        yield ServerSentEvent(comment="connected", retry=RETRY_MS)
        while True:
            item = await sub.queue.get()
            if item == RESYNC:
                yield ServerSentEvent(data="{}", event="resync")
            else:
                assert isinstance(item, MediaEventRecord)
                yield to_sse(item, with_media_id=True)
    finally:
        resources.hub.unsubscribe(sub)

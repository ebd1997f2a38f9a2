"""The events one SSE client receives: catch-up from Postgres, then live; no gap, no duplicate.

Each stream remembers the last sequence number it sent. A live event that is not the next one
(its publish was lost or overtaken, the client fell behind, Redis was reconnected) makes the
stream re-read Postgres from that number. Only a client that fell behind skips anything: the
progress events that later events supersede.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from reelay_core import events
from reelay_core.db import models as m
from reelay_core.events import MediaEventRecord
from reelay_core.media import transitions
from sse_starlette import ServerSentEvent

from reelay_api.events import metrics
from reelay_api.events.grant import StreamGrant
from reelay_api.events.hub import BEHIND, RESYNC, Subscription
from reelay_api.events.replay import stored_events
from reelay_api.resources import Resources

RETRY_MS = 3000
# Also the interval at which a quiet stream re-reads Postgres: a safety net for a last event
# whose publish was lost (Redis down while the worker recorded it), which no gap reveals.
POLL_SECONDS = 15.0


def to_sse(record: MediaEventRecord, *, with_media_id: bool = False) -> ServerSentEvent:
    data: dict[str, Any] = dict(record.data)
    if with_media_id:
        data["media_id"] = record.media_id
    return ServerSentEvent(data=json.dumps(data), event=record.event, id=str(record.seq))


def hello() -> ServerSentEvent:
    # Sent at once: tells the client how soon to reconnect and that the stream is up.
    return ServerSentEvent(comment="connected", retry=RETRY_MS)


def current_state(media: m.Media) -> MediaEventRecord:
    return MediaEventRecord(
        str(media.id),
        str(media.owner_id),
        media.last_event_seq,
        transitions.event_name(media.status),
        events.snapshot(media),
    )


async def next_item(sub: Subscription, grant: StreamGrant) -> MediaEventRecord | str | None:
    """The next item of `sub`; None after POLL_SECONDS, or sooner if the token expires."""
    try:
        async with asyncio.timeout(grant.wait_at_most(POLL_SECONDS)):
            return await sub.queue.get()
    except TimeoutError:
        return None


async def with_last(
    records: AsyncIterator[MediaEventRecord],
) -> AsyncIterator[tuple[MediaEventRecord, bool]]:
    """Each record, and whether it is the last one of `records`."""
    previous: MediaEventRecord | None = None
    async for record in records:
        if previous is not None:
            yield previous, False
        previous = record
    if previous is not None:
        yield previous, True


async def latest_only(records: AsyncIterator[MediaEventRecord]) -> AsyncIterator[MediaEventRecord]:
    """Drop progress events that a later event supersedes (every event carries the full state)."""
    pending: MediaEventRecord | None = None
    async for record in records:
        pending = None
        if record.event == "progress":
            pending = record
            continue
        yield record
    if pending is not None:
        yield pending


async def media_events(
    resources: Resources, media_id: uuid.UUID, last_event_id: int | None, grant: StreamGrant
) -> AsyncIterator[ServerSentEvent]:
    # Subscribe before reading Postgres: anything recorded meanwhile arrives on the queue and
    # is dropped there if the catch-up already sent it.
    sub = resources.hub.subscribe(media_id=str(media_id))
    try:
        with metrics.STREAMS.track_inprogress():
            yield hello()
            async with resources.sessions() as db:
                media = await db.get(m.Media, media_id)
            if media is None:
                return
            if replays(last_event_id, media):
                assert last_event_id is not None
                sent = last_event_id
                catch_up = stored_events(resources.sessions, media_id, after=sent)
            else:
                state = current_state(media)
                yield to_sse(state)
                if transitions.is_terminal_event(state.event):
                    return
                sent, catch_up = state.seq, nothing()
            drops_seen = 0
            while True:
                async for record, is_last in with_last(catch_up):
                    if record.seq <= sent:
                        continue
                    yield to_sse(record)
                    sent = record.seq
                    # A stored terminal event followed by more (the item was retried) is history.
                    if is_last and transitions.is_terminal_event(record.event):
                        return
                item = await next_item(sub, grant)
                if not await grant.holds():
                    return
                if item is None:
                    item = RESYNC
                if isinstance(item, MediaEventRecord) and item.seq <= sent + 1:
                    catch_up = one(item)
                    continue
                # Fell behind, a publish was lost or overtaken, or Redis was reconnected.
                metrics.RESYNCS.inc()
                if item == RESYNC and not await exists(resources, media_id):
                    return  # deleted meanwhile
                fell_behind = item == BEHIND or (
                    isinstance(item, MediaEventRecord) and sub.dropped > drops_seen
                )
                drops_seen = sub.dropped
                catch_up = stored_events(resources.sessions, media_id, after=sent)
                if fell_behind:
                    catch_up = latest_only(catch_up)
    finally:
        resources.hub.unsubscribe(sub)


def replays(last_event_id: int | None, media: m.Media) -> bool:
    """Whether to replay stored events after `last_event_id` rather than send the current state.

    An id from the future (not this item's) is no resume point; a client that already has the
    terminal event gets it once more, so that its stream closes.
    """
    if last_event_id is None or last_event_id > media.last_event_seq:
        return False
    return not (
        last_event_id == media.last_event_seq
        and transitions.is_terminal_event(transitions.event_name(media.status))
    )


async def user_events(
    resources: Resources, owner_id: uuid.UUID, grant: StreamGrant
) -> AsyncIterator[ServerSentEvent]:
    """Every live event of the caller's media; a `resync` event asks a dashboard to refetch."""
    sub = resources.hub.subscribe(owner_id=str(owner_id))
    try:
        with metrics.STREAMS.track_inprogress():
            yield hello()
            while True:
                item = await next_item(sub, grant)
                if not await grant.holds():
                    return
                if item is None:
                    continue
                if isinstance(item, MediaEventRecord):
                    yield to_sse(item, with_media_id=True)
                else:
                    metrics.RESYNCS.inc()
                    yield ServerSentEvent(
                        data=json.dumps({"reason": "missed events"}), event="resync"
                    )
    finally:
        resources.hub.unsubscribe(sub)


async def one(record: MediaEventRecord) -> AsyncIterator[MediaEventRecord]:
    yield record


async def nothing() -> AsyncIterator[MediaEventRecord]:
    return
    yield


async def exists(resources: Resources, media_id: uuid.UUID) -> bool:
    async with resources.sessions() as db:
        return await db.get(m.Media, media_id) is not None

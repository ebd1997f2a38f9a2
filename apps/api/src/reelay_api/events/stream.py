"""The events one SSE client receives: catch-up from Postgres, then live; no gap, no duplicate.

Each stream remembers the last sequence number it sent. A live event that is not the next one
(its publish was lost or overtaken, the client fell behind, Redis was reconnected) makes the
stream re-read Postgres from that number, as does the process's heartbeat when Postgres holds an
event the stream never got. Only a client that fell behind skips anything: the progress events
that later events supersede. Streams yield SSE bytes; live events come encoded once for all.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator

from reelay_core import events
from reelay_core.db import models as m
from reelay_core.events import MediaEventRecord
from reelay_core.media import transitions

from reelay_api.events import metrics
from reelay_api.events.frames import HELLO, PING, RESYNC_EVENT, frame_of
from reelay_api.events.grant import StreamGrant
from reelay_api.events.hub import BEHIND, RESYNC
from reelay_api.events.hub import PING as PING_ITEM
from reelay_api.events.replay import stored_events
from reelay_api.resources import Resources


def current_state(media: m.Media) -> MediaEventRecord:
    return MediaEventRecord(
        str(media.id),
        str(media.owner_id),
        media.last_event_seq,
        transitions.event_name(media.status),
        events.snapshot(media),
    )


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
) -> AsyncGenerator[bytes, None]:
    # Subscribe before reading Postgres: anything recorded meanwhile arrives on the queue and
    # is dropped there if the catch-up already sent it.
    sub = resources.hub.subscribe(media_id=str(media_id), grant=grant)
    try:
        with metrics.STREAMS.track_inprogress():
            yield HELLO
            start = await starting_point(resources, media_id, last_event_id)
            if start is None:
                return
            state, sub.sent = start
            catch_up: AsyncIterator[MediaEventRecord] | None = None
            if state is None:
                catch_up = stored_events(resources.sessions, media_id, after=sub.sent)
            else:
                yield frame_of(state)
                if transitions.is_terminal_event(state.event):
                    return
            drops_seen = 0
            while True:
                if catch_up is not None:
                    async for record, is_last in with_last(catch_up):
                        if record.seq <= sub.sent:
                            continue
                        yield frame_of(record)
                        sub.sent = record.seq
                        # A stored terminal event followed by more (the item was retried) is
                        # history.
                        if is_last and transitions.is_terminal_event(record.event):
                            return
                    catch_up = None
                item = await sub.queue.get()
                if sub.closed:
                    return
                if item == PING_ITEM:
                    yield PING
                    continue
                if isinstance(item, MediaEventRecord) and item.seq <= sub.sent + 1:
                    if item.seq == sub.sent + 1:  # the next one, as nearly always: send it
                        yield frame_of(item)
                        sub.sent = item.seq
                        if transitions.is_terminal_event(item.event):
                            # Every stream of the item sends it before any stream ends (which
                            # takes longer than a send): the last client is not kept waiting.
                            await asyncio.sleep(0)
                            return
                    continue
                # Fell behind, a publish was lost or overtaken, or Redis was reconnected.
                metrics.RESYNCS.inc()
                if item == RESYNC and not await exists(resources, media_id):
                    return  # deleted meanwhile
                fell_behind = item == BEHIND or (
                    isinstance(item, MediaEventRecord) and sub.dropped > drops_seen
                )
                drops_seen = sub.dropped
                catch_up = stored_events(resources.sessions, media_id, after=sub.sent)
                if fell_behind:
                    catch_up = latest_only(catch_up)
    finally:
        resources.hub.unsubscribe(sub)


async def starting_point(
    resources: Resources, media_id: uuid.UUID, last_event_id: int | None
) -> tuple[MediaEventRecord | None, int] | None:
    """None if the item is gone; else the state to send first (None: replay from
    `last_event_id`) and the last seq the client has. A function of its own so that the stream
    does not keep the row and its session for as long as it is open (~4 KiB each)."""
    async with resources.sessions() as db:
        media = await db.get(m.Media, media_id)
    if media is None:
        return None
    if replays(last_event_id, media):
        assert last_event_id is not None
        return None, last_event_id
    state = current_state(media)
    return state, state.seq


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
) -> AsyncGenerator[bytes, None]:
    """Every live event of the caller's media; a `resync` event asks a dashboard to refetch."""
    sub = resources.hub.subscribe(owner_id=str(owner_id), grant=grant)
    try:
        with metrics.STREAMS.track_inprogress():
            yield HELLO
            while True:
                item = await sub.queue.get()
                if sub.closed:
                    return
                if item == PING_ITEM:
                    yield PING
                elif isinstance(item, MediaEventRecord):
                    yield frame_of(item, with_media_id=True)
                else:
                    metrics.RESYNCS.inc()
                    yield RESYNC_EVENT
    finally:
        resources.hub.unsubscribe(sub)


async def exists(resources: Resources, media_id: uuid.UUID) -> bool:
    async with resources.sessions() as db:
        return await db.get(m.Media, media_id) is not None

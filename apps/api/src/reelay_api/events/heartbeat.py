"""One timer per API process for every open SSE stream: heartbeats, the end of streams whose
token expired or was revoked, and the safety-net re-read.

Every INTERVAL_SECONDS it pokes each stream (a waiting one sends a heartbeat comment), closes
the streams whose grant no longer holds (one Redis round trip for all of them), and asks
Postgres once for the last event of every item being watched: a stream still behind what was
stored one beat earlier (an event whose publish was lost while Redis was down, which no gap
reveals) re-reads what it missed. Streams themselves never poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError
from reelay_core.db import models as m
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelay_api.events import grant, response
from reelay_api.events.hub import RESYNC, EventHub

log = logging.getLogger(__name__)

# Under the 15 s the API promises between heartbeats, with room for the beat itself.
INTERVAL_SECONDS = 14.0
# A client that has taken nothing for this long is dropped at the next beat (docs/api.md: 30 s).
STALLED_SECONDS = 30.0
POKE_SLICE = 200
POKE_PAUSE_SECONDS = 0.02  # 5,000 streams: heartbeats spread over half a second


class Heartbeat:
    def __init__(
        self,
        hub: EventHub,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        *,
        interval: float = INTERVAL_SECONDS,
    ) -> None:
        self.hub = hub
        self.sessions = sessions
        self.redis = redis
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stored_before: dict[str, int] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sse-heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self.interval
        while True:
            await asyncio.sleep(max(0.0, next_beat - loop.time()))
            next_beat += self.interval
            try:
                await self.beat()
            except Exception:  # the next beat tries again; streams keep running meanwhile
                log.exception("SSE heartbeat failed")

    async def beat(self) -> None:
        response.drop_stalled(STALLED_SECONDS)
        await self._end_lapsed_grants()
        await self._catch_up_missed()
        # In slices: thousands of streams woken at once would hold up every other request for
        # as long as their heartbeats take to send (~150 ms for 5,000).
        subs = list(self.hub.subscriptions())
        for start in range(0, len(subs), POKE_SLICE):
            for sub in subs[start : start + POKE_SLICE]:
                sub.poke()
            await asyncio.sleep(POKE_PAUSE_SECONDS)

    async def _end_lapsed_grants(self) -> None:
        subs = [sub for sub in self.hub.subscriptions() if sub.grant is not None]
        try:
            revoked = await grant.revoked(self.redis, (s.grant for s in subs if s.grant))
        except RedisError:
            revoked = set()  # an open stream rides out a Redis outage, as for its events
        for sub in subs:
            assert sub.grant is not None
            if sub.grant.expired() or sub.grant.jti is None or sub.grant.jti in revoked:
                sub.close()

    async def _catch_up_missed(self) -> None:
        watched = self.hub.media_subscriptions()
        if not watched:
            return
        try:
            async with self.sessions() as db:
                rows = await db.execute(
                    select(m.Media.id, m.Media.last_event_seq).where(
                        m.Media.id.in_([uuid.UUID(media_id) for media_id in watched])
                    )
                )
        except (SQLAlchemyError, OSError) as exc:
            log.warning("SSE safety-net read failed (%r); next beat tries again", exc)
            return
        stored = {str(media_id): seq for media_id, seq in rows}
        before, self._stored_before = self._stored_before, stored
        for media_id, subs in list(watched.items()):
            # An event stored by the previous beat should have been published by now; one stored
            # since may still be on its way (committed, not yet published).
            missed = before.get(media_id, 0)
            on_its_way = self.hub.latest.get(media_id, 0)
            for sub in list(subs):
                if media_id not in stored or missed > max(sub.sent, on_its_way):
                    sub.deliver(RESYNC)  # deleted, or a publish was lost

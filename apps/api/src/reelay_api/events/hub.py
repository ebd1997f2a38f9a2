"""One Redis pub/sub connection per API process, fanned out to bounded per-client queues.

A client that falls behind may miss intermediate `progress` events, never a status or terminal
one: when such an event does not fit, its queue is emptied and replaced by BEHIND, and the
client's stream re-reads what it missed from Postgres, skipping superseded progress. Once the
hub has resubscribed after losing Redis, every queue gets RESYNC: re-read all of it, since
events published meanwhile reached no one. A PING in a queue only wakes its stream (see
`heartbeat`); a subscription that is closed ends its stream at its next wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from redis.asyncio import Redis
from reelay_core.events import CHANNEL_PREFIX, MediaEventRecord

from reelay_api.events import metrics
from reelay_api.events.frames import LiveEvent

if TYPE_CHECKING:
    from reelay_api.events.grant import StreamGrant

log = logging.getLogger(__name__)

RESYNC: Final = "resync"  # events may have been missed: re-read every one of them
BEHIND: Final = "behind"  # this client fell behind: re-read, superseded progress may be skipped
PING: Final = "ping"  # nothing happened: send a heartbeat
QUEUE_SIZE: Final = 64
QueueItem = MediaEventRecord | str


class Mailbox:
    """A bounded FIFO with one reader: what a stream needs of asyncio.Queue, in a few hundred
    bytes instead of ~3 KiB (its four deques), with thousands of streams open."""

    __slots__ = ("_items", "_waiter", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: list[QueueItem] = []  # at most maxsize: pop(0) is cheap
        self._waiter: asyncio.Future[None] | None = None

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: QueueItem) -> None:
        if len(self._items) >= self.maxsize:
            raise asyncio.QueueFull
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def get_nowait(self) -> QueueItem:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self) -> QueueItem:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


@dataclass(eq=False, slots=True)
class Subscription:
    media_id: str | None
    owner_id: str | None
    grant: StreamGrant | None = None
    queue: Mailbox = field(default_factory=lambda: Mailbox(QUEUE_SIZE))
    dropped: int = 0
    sent: int = 0  # the last event seq its stream sent, for the heartbeat's safety net
    closed: bool = False
    expiry: asyncio.TimerHandle | None = None  # closes it when its token expires

    def poke(self) -> None:
        """Wake the stream if it is waiting; a queue with items in it wakes it anyway."""
        if self.queue.empty():
            self.queue.put_nowait(PING)

    def close(self) -> None:
        self.closed = True
        self.poke()

    def deliver(self, item: QueueItem) -> None:
        try:
            self.queue.put_nowait(item)
            return
        except asyncio.QueueFull:
            pass
        if isinstance(item, MediaEventRecord) and item.event == "progress":
            self.dropped += 1
            metrics.PROGRESS_DROPPED.inc()
            return
        # Something that must not be lost: replace the backlog with one request to re-read it.
        backlog = [self.queue.get_nowait() for _ in range(self.queue.qsize())]
        self.queue.put_nowait(RESYNC if item == RESYNC or RESYNC in backlog else BEHIND)


class EventHub:
    def __init__(self, redis_url: str, *, reconnect_delay: float = 0.5) -> None:
        self.redis_url = redis_url
        self.reconnect_delay = reconnect_delay
        self._by_media: dict[str, set[Subscription]] = {}
        self._by_owner: dict[str, set[Subscription]] = {}
        # The highest seq dispatched per subscribed item: a stream behind it has it on its way.
        self.latest: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        metrics.observe(self)
        self._task = asyncio.create_task(self._run(), name="event-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.connected.clear()

    @property
    def subscription_count(self) -> int:
        return sum(len(s) for s in self._by_media.values()) + sum(
            len(s) for s in self._by_owner.values()
        )

    def subscriptions(self) -> Iterator[Subscription]:
        for index in (self._by_media, self._by_owner):
            for subs in index.values():
                yield from subs

    def media_subscriptions(self) -> dict[str, set[Subscription]]:
        return self._by_media

    def subscribe(
        self,
        *,
        media_id: str | None = None,
        owner_id: str | None = None,
        grant: StreamGrant | None = None,
    ) -> Subscription:
        sub = Subscription(media_id=media_id, owner_id=owner_id, grant=grant)
        if grant is not None:
            # A timer, not a task: the stream ends the moment its token does.
            sub.expiry = asyncio.get_running_loop().call_later(grant.seconds_left(), sub.close)
        if media_id is not None:
            self._by_media.setdefault(media_id, set()).add(sub)
        else:
            assert owner_id is not None
            self._by_owner.setdefault(owner_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub.expiry is not None:
            sub.expiry.cancel()
        index, key = (
            (self._by_media, sub.media_id)
            if sub.media_id is not None
            else (self._by_owner, sub.owner_id)
        )
        subs = index.get(str(key))
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del index[str(key)]
                if sub.media_id is not None:
                    self.latest.pop(sub.media_id, None)

    def dispatch(self, record: MediaEventRecord) -> None:
        if record.media_id in self._by_media:
            self.latest[record.media_id] = max(record.seq, self.latest.get(record.media_id, 0))
        for sub in (
            *self._by_media.get(record.media_id, ()),
            *self._by_owner.get(record.owner_id, ()),
        ):
            sub.deliver(record)

    def _resync_all(self) -> None:
        for subs in (*self._by_media.values(), *self._by_owner.values()):
            for sub in subs:
                sub.deliver(RESYNC)

    async def _run(self) -> None:
        while True:
            redis = Redis.from_url(self.redis_url, socket_keepalive=True)
            try:
                async with redis.pubsub() as pubsub:
                    await pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
                    self.connected.set()
                    # Whatever was published while we were not subscribed (at start-up, or while
                    # Redis was away) is only in Postgres: every stream re-reads it from there.
                    self._resync_all()
                    log.info("event hub subscribed to %s*", CHANNEL_PREFIX)
                    async for message in pubsub.listen():
                        if message.get("type") == "pmessage":
                            self._handle(message["data"])
                raise ConnectionError("the pub/sub stream ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost: keep trying, clients resync after
                self.connected.clear()
                log.warning("event hub lost Redis (%s); reconnecting", exc)
                await asyncio.sleep(self.reconnect_delay)
            finally:
                with contextlib.suppress(Exception):
                    await redis.aclose()

    def _handle(self, raw: bytes | str) -> None:
        try:
            record = LiveEvent.from_json(raw)
        except (ValueError, TypeError):
            log.warning("ignoring a malformed event on the media channel")
            return
        self.dispatch(record)

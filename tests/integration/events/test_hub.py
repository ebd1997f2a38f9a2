"""The hub in this process against the session's real Valkey: bounded queues, nothing vital lost."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from reelay_api.events.hub import BEHIND, QUEUE_SIZE, RESYNC, EventHub, Subscription
from reelay_core import events
from reelay_core.events import MediaEventRecord
from reelay_core.settings import Settings

from tests.support.waits import until


@pytest.fixture
async def redis(stack_settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(str(stack_settings.redis_url))
    try:
        yield client
    finally:
        await client.aclose()


async def test_an_unread_queue_stays_bounded_and_a_status_that_does_not_fit_becomes_resync(
    hub: EventHub, redis: Redis
) -> None:
    media_id, owner_id = str(uuid.uuid4()), str(uuid.uuid4())
    stalled = hub.subscribe(media_id=media_id)
    dashboard = hub.subscribe(owner_id=owner_id)
    bystander = hub.subscribe(media_id=str(uuid.uuid4()))
    assert hub.subscription_count == 3

    def record(seq: int, event: str, status: str) -> MediaEventRecord:
        data = {"status": status, "progress": seq / 10, "stage": "transcode", "eta_seconds": 1}
        return MediaEventRecord(media_id, owner_id, seq, event, data)

    for seq in range(1, QUEUE_SIZE * 3 + 1):
        await events.publish(redis, record(seq, "progress", "processing"))
    await until(lambda: stalled.dropped == QUEUE_SIZE * 2, what="the backlog dropped")
    assert stalled.queue.qsize() == QUEUE_SIZE, "memory per client is bounded"
    assert dashboard.queue.qsize() == QUEUE_SIZE and dashboard.dropped == QUEUE_SIZE * 2
    assert bystander.queue.empty()

    await events.publish(redis, record(QUEUE_SIZE * 3 + 1, "canceled", "canceled"))
    await until(lambda: stalled.queue.qsize() == 1, what="one re-read request queued")
    for sub in (stalled, dashboard):
        assert sub.queue.get_nowait() == BEHIND, "the backlog was replaced by one re-read request"

    for sub in (stalled, dashboard, bystander):
        hub.unsubscribe(sub)
    assert hub.subscription_count == 0


def full_queue() -> Subscription:
    sub = Subscription(media_id="m", owner_id=None)
    for seq in range(QUEUE_SIZE - 1):
        sub.deliver(MediaEventRecord("m", "o", seq, "progress", {}))
    sub.deliver(MediaEventRecord("m", "o", 99, "status", {}))  # fits: queued like any other
    assert sub.queue.qsize() == QUEUE_SIZE and sub.dropped == 0
    return sub


def test_a_full_queue_skips_progress_and_turns_a_status_into_one_behind_marker() -> None:
    sub = full_queue()
    sub.deliver(MediaEventRecord("m", "o", 100, "progress", {}))
    assert sub.dropped == 1 and sub.queue.qsize() == QUEUE_SIZE
    sub.deliver(MediaEventRecord("m", "o", 101, "completed", {}))
    assert [sub.queue.get_nowait() for _ in range(sub.queue.qsize())] == [BEHIND]


def test_a_resync_after_a_redis_reconnect_is_never_weakened_to_behind() -> None:
    sub = full_queue()
    sub.deliver(RESYNC)  # the hub resubscribed: everything must be re-read, nothing skipped
    assert [sub.queue.get_nowait() for _ in range(sub.queue.qsize())] == [RESYNC]
    sub.deliver(RESYNC)
    for seq in range(QUEUE_SIZE):
        sub.deliver(MediaEventRecord("m", "o", seq, "status", {}))
    assert [sub.queue.get_nowait() for _ in range(sub.queue.qsize())] == [RESYNC]

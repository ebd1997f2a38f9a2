"""The process's one heartbeat, in this process against the session's Postgres and Valkey: it
wakes every stream, ends the ones whose token lapsed, and catches a publish that was lost; and
a live event reaches every stream as the same encoded bytes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from litestar.security.jwt import Token
from redis.asyncio import Redis
from reelay_api.auth import revocation
from reelay_api.events.frames import LiveEvent, frame_of
from reelay_api.events.grant import StreamGrant
from reelay_api.events.heartbeat import Heartbeat
from reelay_api.events.hub import PING, RESYNC, EventHub, Mailbox
from reelay_core import events

from tests.integration.events.conftest import Recorder
from tests.support.client import Account
from tests.support.factories import create_media
from tests.support.waits import until


@pytest.fixture
async def heartbeat(hub: EventHub, recorder: Recorder) -> Heartbeat:
    return Heartbeat(hub, recorder.sessions, recorder.redis)


def grant(redis: Redis, *, expires_in: float) -> StreamGrant:
    token = Token(exp=datetime.now(UTC) + timedelta(hours=1), sub="u", jti=uuid.uuid4().hex)
    token.exp = datetime.now(UTC) + timedelta(seconds=expires_in)  # Token refuses a past one
    return StreamGrant(token, redis)


def drain(queue: Mailbox) -> list[object]:
    return [queue.get_nowait() for _ in range(queue.qsize())]


async def test_every_stream_gets_the_same_bytes_of_a_live_event(
    hub: EventHub, recorder: Recorder
) -> None:
    media_id, owner_id = str(uuid.uuid4()), str(uuid.uuid4())
    subs = [hub.subscribe(media_id=media_id) for _ in range(3)]
    dashboard = hub.subscribe(owner_id=owner_id)
    record = events.MediaEventRecord(media_id, owner_id, 1, "status", {"status": "queued"})
    await events.publish(recorder.redis, record)
    await until(lambda: all(s.queue.qsize() == 1 for s in [*subs, dashboard]), what="delivered")

    received = [sub.queue.get_nowait() for sub in subs]
    assert all(isinstance(item, LiveEvent) for item in received)
    frames = {id(frame_of(item)) for item in received if isinstance(item, LiveEvent)}
    assert len(frames) == 1, "encoded once, the same bytes object for every stream"
    assert frame_of(received[0]) == frame_of(record)  # ...and what a replay would send
    item = dashboard.queue.get_nowait()
    assert isinstance(item, LiveEvent) and b'"media_id"' in frame_of(item, with_media_id=True)


async def test_a_beat_wakes_waiting_streams_and_ends_lapsed_grants(
    hub: EventHub, heartbeat: Heartbeat, recorder: Recorder
) -> None:
    live = hub.subscribe(owner_id="o", grant=grant(recorder.redis, expires_in=600))
    expired = hub.subscribe(owner_id="o", grant=grant(recorder.redis, expires_in=-1))
    revoked_grant = grant(recorder.redis, expires_in=600)
    revoked = hub.subscribe(owner_id="o", grant=revoked_grant)
    assert revoked_grant.jti is not None
    await revocation.revoke_id(recorder.redis, revoked_grant.jti, 60)

    await heartbeat.beat()
    assert not live.closed and drain(live.queue) == [PING]
    assert expired.closed and revoked.closed
    await heartbeat.beat()
    assert drain(live.queue) == [PING], "one heartbeat per beat, not more"


async def test_a_lost_publish_is_caught_by_the_beat_after_next_and_only_then(
    api: httpx.AsyncClient,
    account: Account,
    hub: EventHub,
    heartbeat: Heartbeat,
    recorder: Recorder,
) -> None:
    media_id = (await create_media(api, account))["id"]
    sub = hub.subscribe(media_id=media_id)
    sub.sent = 1  # the stream has sent the item's state

    lost = await recorder.emit(media_id, "status", status="queued", publish=False)
    await heartbeat.beat()  # it may still be on its way: committed, not yet published
    assert drain(sub.queue) == [PING]
    await heartbeat.beat()
    assert drain(sub.queue) == [RESYNC], "stored a beat ago and never published: re-read"

    sub.sent = lost.seq  # the stream re-read it
    await heartbeat.beat()
    assert drain(sub.queue) == [PING]

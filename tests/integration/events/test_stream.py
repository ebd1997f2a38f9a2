"""GET /videos/{id}/events against the real API: catch-up, then live; no gap, no duplicate."""

from __future__ import annotations

import asyncio

import httpx
from reelay_api.events.endpoints import HEARTBEAT_SECONDS

from tests.integration.events.conftest import Recorder
from tests.support.client import Account, register
from tests.support.factories import create_media
from tests.support.sse import Message, event_ids, messages, read_events

STREAM_TIMEOUT = httpx.Timeout(30, read=30)


async def test_first_connect_sends_retry_hint_and_current_state_then_live_then_closes(
    api: httpx.AsyncClient, account: Account, recorder: Recorder
) -> None:
    media_id = (await create_media(api, account))["id"]
    async with api.stream(
        "GET", f"/videos/{media_id}/events", headers=account.headers, timeout=STREAM_TIMEOUT
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert resp.headers["cache-control"] == "no-cache"
        assert resp.headers["x-accel-buffering"] == "no"
        stream = messages(resp)
        hello = await anext(stream)
        assert hello.retry == 3000 and not hello.is_event
        state = await anext(stream)
        assert (state.id, state.event) == (1, "status")
        assert {"status", "progress", "stage", "eta_seconds"} <= state.data.keys()
        assert state.data["status"] == "awaiting_upload"

        await recorder.emit(media_id, "status", status="queued")
        await recorder.emit(media_id, "canceled", status="canceled")
        rest = [m async for m in stream if m.is_event]
    assert [(m.id, m.event, m.data["status"]) for m in rest] == [
        (2, "status", "queued"),
        (3, "canceled", "canceled"),
    ]


async def test_replay_after_last_event_id_joins_live_events_without_gap_or_duplicate(
    api: httpx.AsyncClient, account: Account, recorder: Recorder
) -> None:
    media_id = (await create_media(api, account))["id"]
    await recorder.emit(media_id, "status", status="queued")
    await recorder.emit(media_id, "status", status="processing", stage="probe")
    await recorder.progress(media_id, 5.0)

    async def client(**how: int | str) -> list[Message]:
        params = {"last_event_id": str(how["query"])} if "query" in how else None
        return await read_events(
            api,
            f"/videos/{media_id}/events",
            account.headers,
            last_event_id=how.get("header"),
            params=params,
        )

    async def produce() -> int:
        # Clients connect while events are being recorded: the catch-up/live seam is crossed.
        for i in range(40):
            await recorder.progress(media_id, 6.0 + i)
            await asyncio.sleep(0.01)
        return (
            await recorder.emit(
                media_id, "completed", status="completed", progress=100.0, stage=None
            )
        ).seq

    producer = asyncio.create_task(produce())
    clients = []
    for how in ({"header": 2}, {"query": 3}, {}, {"header": 0}, {"header": "junk"}):
        clients.append(asyncio.create_task(client(**how)))
        await asyncio.sleep(0.07)
    last = await producer
    by_header, by_query, fresh, from_zero, junk = await asyncio.gather(*clients)

    assert event_ids(by_header) == list(range(3, last + 1))
    assert event_ids(by_query) == list(range(4, last + 1))
    assert event_ids(from_zero) == list(range(1, last + 1))
    for joined in (fresh, junk):  # current state first, then every later event
        ids = event_ids(joined)
        assert ids == list(range(ids[0], last + 1)), ids
    for events in (by_header, by_query, fresh, from_zero, junk):
        assert events[-1].event == "completed"
        progress = [e.data["progress"] for e in events]
        assert progress == sorted(progress)


async def test_a_terminal_item_answers_with_its_terminal_event_and_closes(
    api: httpx.AsyncClient, account: Account, recorder: Recorder
) -> None:
    media_id = (await create_media(api, account))["id"]
    await recorder.emit(media_id, "status", status="queued")
    await recorder.emit(
        media_id, "failed", status="failed", error_code="invalid_media", error_message="not a video"
    )

    async def read(last_event_id: int | None) -> list[Message]:
        path = f"/videos/{media_id}/events"
        return await read_events(api, path, account.headers, last_event_id=last_event_id)

    now, again, all_of_it = await asyncio.gather(read(None), read(3), read(0))
    for events in (now, again):
        assert [(e.id, e.event) for e in events] == [(3, "failed")]
        assert events[0].data["error"] == {"code": "invalid_media", "message": "not a video"}
    assert [(e.id, e.event) for e in all_of_it] == [(1, "status"), (2, "status"), (3, "failed")]


async def test_someone_elses_media_is_not_found_and_a_missing_token_is_unauthorized(
    api: httpx.AsyncClient, account: Account
) -> None:
    media_id = (await create_media(api, account))["id"]
    stranger = await register(api)
    answer = await api.get(f"/videos/{media_id}/events", headers=stranger.headers)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert (await api.get(f"/images/{media_id}/events", headers=account.headers)).status_code == 404
    async with httpx.AsyncClient(base_url=str(api.base_url)) as anonymous:  # no session cookie
        assert (await anonymous.get(f"/videos/{media_id}/events")).status_code == 401
        assert (await anonymous.get("/events")).status_code == 401


async def test_events_endpoint_streams_every_item_of_the_caller_with_its_media_id(
    api: httpx.AsyncClient, account: Account, recorder: Recorder
) -> None:
    video = (await create_media(api, account))["id"]
    image = (await create_media(api, account, kind="images"))["id"]
    stranger = await register(api)
    strangers = (await create_media(api, stranger))["id"]
    async with api.stream(
        "GET", "/events", headers=account.headers, timeout=STREAM_TIMEOUT
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["cache-control"] == "no-cache"
        stream = messages(resp)
        assert (await anext(stream)).retry == 3000
        await recorder.emit(strangers, "status", status="queued")
        await recorder.emit(video, "status", status="queued")
        await recorder.progress(image, 50.0)
        await recorder.emit(video, "canceled", status="canceled")
        got = []
        async for message in stream:
            if message.is_event:
                got.append(message)
            if len(got) == 3:
                break
    assert [(e.data["media_id"], e.event, e.id) for e in got] == [
        (video, "status", 2),
        (image, "progress", 2),
        (video, "canceled", 3),
    ]
    assert {"status", "progress", "stage", "eta_seconds"} <= got[0].data.keys()


async def test_a_quiet_stream_sends_a_heartbeat_comment_within_15_seconds(
    api: httpx.AsyncClient, account: Account
) -> None:
    # Proxies and load balancers commonly close a connection quiet for 30 s or more.
    assert HEARTBEAT_SECONDS <= 15
    media_id = (await create_media(api, account))["id"]
    async with api.stream(
        "GET", f"/videos/{media_id}/events", headers=account.headers, timeout=STREAM_TIMEOUT
    ) as resp:
        # A deadline for a hung stream only: the assertion is that a ping comes at all.
        async with asyncio.timeout(HEARTBEAT_SECONDS * 4):
            async for message in messages(resp):
                if any(c.startswith("ping") for c in message.comments):
                    break
            else:
                raise AssertionError("the stream closed without a heartbeat")


async def test_replay_does_not_stop_at_a_failed_attempt_that_was_retried(
    api: httpx.AsyncClient, account: Account, recorder: Recorder
) -> None:
    media_id = (await create_media(api, account))["id"]
    await recorder.emit(media_id, "status", status="queued", attempt=1)
    await recorder.emit(media_id, "failed", status="failed", error_code="x", error_message="y")
    await recorder.emit(media_id, "status", status="queued", attempt=2, error_code=None)
    await recorder.emit(media_id, "status", status="processing")

    headers = {**account.headers, "Last-Event-ID": "1"}
    events = []
    async with api.stream(
        "GET", f"/videos/{media_id}/events", headers=headers, timeout=STREAM_TIMEOUT
    ) as resp:
        async for message in messages(resp):
            if not message.is_event:
                continue
            events.append(message)
            if message.id == 5:  # caught up past attempt 1's end: the stream must stay open
                await recorder.emit(media_id, "completed", status="completed", progress=100.0)
    assert [(e.id, e.event) for e in events] == [
        (2, "status"),
        (3, "failed"),  # attempt 1's end is history: the stream goes on
        (4, "status"),
        (5, "status"),
        (6, "completed"),
    ]

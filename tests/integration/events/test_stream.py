"""GET /videos/{id}/events against the real API: catch-up, then live; no gap, no duplicate."""

from __future__ import annotations

import asyncio

import httpx

from tests.integration.events.conftest import Recorder, new_media
from tests.integration.events.sse import collect, event_ids, messages
from tests.support.client import Account, register

STREAM_TIMEOUT = httpx.Timeout(30, read=30)


async def test_first_connect_sends_retry_hint_and_current_state_then_live_then_closes(
    api: httpx.AsyncClient, account: Account, recorder: Recorder
) -> None:
    media_id = await new_media(api, account)
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
    media_id = await new_media(api, account)
    await recorder.emit(media_id, "status", status="queued")
    await recorder.emit(media_id, "status", status="processing", stage="probe")
    await recorder.progress(media_id, 5.0)

    async def client(**how: object) -> list:
        headers = dict(account.headers)
        params = {}
        if "header" in how:
            headers["Last-Event-ID"] = str(how["header"])
        if "query" in how:
            params["last_event_id"] = str(how["query"])
        async with api.stream(
            "GET",
            f"/videos/{media_id}/events",
            headers=headers,
            params=params,
            timeout=STREAM_TIMEOUT,
        ) as resp:
            assert resp.status_code == 200
            return await collect(resp)

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
    media_id = await new_media(api, account)
    await recorder.emit(media_id, "status", status="queued")
    await recorder.emit(
        media_id, "failed", status="failed", error_code="invalid_media", error_message="not a video"
    )

    async def read(last_event_id: int | None) -> list:
        headers = dict(account.headers)
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        async with api.stream(
            "GET", f"/videos/{media_id}/events", headers=headers, timeout=STREAM_TIMEOUT
        ) as resp:
            return await collect(resp)

    now, again, all_of_it = await asyncio.gather(read(None), read(3), read(0))
    for events in (now, again):
        assert [(e.id, e.event) for e in events] == [(3, "failed")]
        assert events[0].data["error"] == {"code": "invalid_media", "message": "not a video"}
    assert [(e.id, e.event) for e in all_of_it] == [(1, "status"), (2, "status"), (3, "failed")]


async def test_someone_elses_media_is_not_found_and_a_missing_token_is_unauthorized(
    api: httpx.AsyncClient, account: Account
) -> None:
    media_id = await new_media(api, account)
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
    video, image = await new_media(api, account), await new_media(api, account, kind="images")
    stranger = await register(api)
    strangers = await new_media(api, stranger)
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
    media_id = await new_media(api, account)
    async with api.stream(
        "GET", f"/videos/{media_id}/events", headers=account.headers, timeout=STREAM_TIMEOUT
    ) as resp:
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with asyncio.timeout(20):
            async for message in messages(resp):
                if any(c.startswith("ping") for c in message.comments):
                    break
        assert loop.time() - started <= 16.5


async def test_replay_does_not_stop_at_a_failed_attempt_that_was_retried(
    api: httpx.AsyncClient, account: Account, recorder: Recorder
) -> None:
    media_id = await new_media(api, account)
    await recorder.emit(media_id, "status", status="queued", attempt=1)
    await recorder.emit(media_id, "failed", status="failed", error_code="x", error_message="y")
    await recorder.emit(media_id, "status", status="queued", attempt=2, error_code=None)
    await recorder.emit(media_id, "status", status="processing")

    async def finish_later() -> None:
        await asyncio.sleep(1)
        await recorder.emit(media_id, "completed", status="completed", progress=100.0)

    async def read_from_the_start() -> list:
        headers = {**account.headers, "Last-Event-ID": "1"}
        async with api.stream(
            "GET", f"/videos/{media_id}/events", headers=headers, timeout=STREAM_TIMEOUT
        ) as resp:
            return await collect(resp)

    events, _ = await asyncio.gather(read_from_the_start(), finish_later())
    assert [(e.id, e.event) for e in events] == [
        (2, "status"),
        (3, "failed"),  # attempt 1's end is history: the stream goes on
        (4, "status"),
        (5, "status"),
        (6, "completed"),
    ]

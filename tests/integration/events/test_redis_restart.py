"""Valkey restarts in the middle of a real job while SSE clients are connected: nothing is missed.

The test runs its own Valkey with its own API and worker processes (sharing the session's
Postgres and storage), so restarting it cannot disturb other tests' arq pools.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from reelay_core.settings import Settings
from reelay_stack.ports import free_port
from reelay_stack.servers import EmbeddedValkey

from tests.support.client import Account, metric, register
from tests.support.factories import upload_and_complete
from tests.support.media import MediaFactory
from tests.support.processes import AppProcesses
from tests.support.sse import Message, messages

OUTAGE_SECONDS = 1.5


@pytest.fixture
def own_redis_stack(
    stack_settings: Settings, clean_state: None, tmp_path: Path
) -> Iterator[tuple[EmbeddedValkey, AppProcesses]]:
    valkey = EmbeddedValkey(
        tmp_path / "valkey", free_port(), password=secrets.token_urlsafe(), persist=True
    )
    valkey.start()
    (tmp_path / "logs").mkdir()
    settings = stack_settings.model_copy(update={"redis_url": valkey.url, "api_port": free_port()})
    apps = AppProcesses(settings, tmp_path / "logs")
    try:
        apps.start()
        yield valkey, apps
    finally:
        apps.stop()
        valkey.stop()


async def follow(
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    seen: list[Message],
    processing: asyncio.Event,
) -> int:
    """Read events to the terminal one, reconnecting with Last-Event-ID like EventSource does."""
    reconnects = 0
    while True:
        resume = {"Last-Event-ID": str(seen[-1].id)} if seen else {"Last-Event-ID": "0"}
        try:
            async with client.stream("GET", path, headers={**headers, **resume}) as resp:
                assert resp.status_code == 200
                async for message in messages(resp):
                    if message.is_event:
                        seen.append(message)
                        if message.data["status"] == "processing":
                            processing.set()
                        if message.event in ("completed", "failed", "canceled"):
                            return reconnects
        except httpx.HTTPError:
            pass
        reconnects += 1
        await asyncio.sleep(0.5)


async def test_clients_miss_nothing_when_redis_restarts_mid_job(
    own_redis_stack: tuple[EmbeddedValkey, AppProcesses], media_factory: MediaFactory
) -> None:
    valkey, apps = own_redis_stack
    clip = media_factory.video(width=640, height=360, seconds=4)
    async with httpx.AsyncClient(base_url=apps.base_url, timeout=httpx.Timeout(30, read=60)) as api:
        account: Account = await register(api)
        queued = await upload_and_complete(api, account, clip)
        path = f"/videos/{queued['id']}/events"

        everything: list[Message] = []
        dashboard: list[Message] = []

        async def watch_dashboard() -> None:
            """A dashboard as the web page is one: live events, and on `resync` a refetch (the
            per-user stream is live only; what was published while the hub was away, possibly
            `completed` itself, is only in Postgres)."""
            item = f"/videos/{queued['id']}"
            async with api.stream("GET", "/events", headers=account.headers) as resp:
                async for message in messages(resp):
                    if not message.is_event:
                        continue
                    dashboard.append(message)
                    if message.event == "completed":
                        return
                    if message.event == "resync":
                        refetched = await api.get(item, headers=account.headers)
                        if refetched.json()["status"] == "completed":
                            return

        processing = asyncio.Event()
        reader = asyncio.create_task(follow(api, path, account.headers, everything, processing))
        board = asyncio.create_task(watch_dashboard())
        try:
            await asyncio.wait_for(processing.wait(), 60)

            resyncs_before = await metric(api, "reelay_sse_resyncs_total")
            assert everything[-1].data["status"] == "processing", "the job is still running"
            await asyncio.to_thread(valkey.stop)  # mid-job: the worker's publishes now fail
            await asyncio.sleep(OUTAGE_SECONDS)
            await asyncio.to_thread(valkey.start)
            worker = apps.workers[0]
            assert worker.exited() is None, (
                "the worker process died while Redis was away:\n" + apps.log(worker.name)[-1500:]
            )

            reconnects = await asyncio.wait_for(reader, timeout=90)
            await asyncio.wait_for(board, timeout=20)
        finally:
            for task in (reader, board):
                task.cancel()

        ids = [e.id for e in everything]
        assert ids == list(range(1, len(ids) + 1)), f"no gap, no duplicate: {ids}"
        statuses = [e.data["status"] for e in everything if e.event != "progress"]
        assert statuses[0] == "awaiting_upload" and statuses[-1] == "completed"
        assert {"queued", "processing"} <= set(statuses)
        assert any(e.event == "progress" and e.data["stage"] == "transcode" for e in everything)

        assert any(e.event == "resync" for e in dashboard), "the dashboard was told to refetch"
        live = [e for e in dashboard if e.event != "resync"]
        assert live and all(e.data["media_id"] == queued["id"] for e in live)

        # The outage cost no connection: the item's stream stayed open and re-read Postgres
        # (once the hub was back, or at its poll), as did the dashboard for each `resync`.
        assert reconnects == 0
        dashboard_resyncs = sum(e.event == "resync" for e in dashboard)
        resyncs = await metric(api, "reelay_sse_resyncs_total") - resyncs_before
        assert resyncs >= dashboard_resyncs + 1, (resyncs, dashboard_resyncs)
        assert await metric(api, "reelay_event_hub_connected") == 1
        assert (await api.get("/readyz")).status_code == 200
        assert worker.exited() is None, "the worker survived the outage"
        final = (await api.get(f"/videos/{queued['id']}", headers=account.headers)).json()
        assert final["status"] == "completed"

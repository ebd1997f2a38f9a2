"""Clients that go away release everything: observed from outside through /metrics."""

from __future__ import annotations

import asyncio

import httpx

from tests.integration.events.conftest import new_media
from tests.integration.events.sse import messages, metric
from tests.support.client import Account

CYCLES = 100
AT_ONCE = 10


async def settle(api: httpx.AsyncClient, *, tasks_at_most: float) -> dict[str, float]:
    """Poll /metrics until the streams are gone and the tasks are few again (or 10 s passed)."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        seen = {
            name: await metric(api, name)
            for name in ("reelay_sse_subscriptions", "reelay_sse_streams", "reelay_asyncio_tasks")
        }
        done = seen["reelay_sse_subscriptions"] == 0 and seen["reelay_sse_streams"] == 0
        if (
            done and seen["reelay_asyncio_tasks"] <= tasks_at_most
        ) or asyncio.get_running_loop().time() > deadline:
            return seen
        await asyncio.sleep(0.2)


async def test_100_connect_disconnect_cycles_leave_no_subscription_queue_or_task_behind(
    api: httpx.AsyncClient, account: Account
) -> None:
    media_id = await new_media(api, account)
    paths = [f"/videos/{media_id}/events", "/events"]

    async def visit(
        i: int, opened: asyncio.Barrier | None = None, leave: asyncio.Event | None = None
    ) -> None:
        # Leave at different points: right after the headers, after the hello, while waiting.
        async with api.stream(
            "GET", paths[i % 2], headers=account.headers, timeout=httpx.Timeout(10)
        ) as resp:
            assert resp.status_code == 200
            if i % 3:
                stream = messages(resp)
                await anext(stream)  # the hello
                if i % 3 == 2 and i % 2 == 0:
                    await anext(stream)  # the current state: now waiting for live events
            if opened is not None and leave is not None:
                await opened.wait()
                await leave.wait()
        # Closing a response that is still streaming closes its connection: the server sees it go.

    await visit(0)  # warm-up: sse-starlette starts one lasting shutdown watcher per loop
    baseline = await settle(api, tasks_at_most=float("inf"))
    assert baseline["reelay_sse_subscriptions"] == 0

    for start in range(0, CYCLES, AT_ONCE):
        opened, leave = asyncio.Barrier(AT_ONCE + 1), asyncio.Event()
        batch = [
            asyncio.create_task(visit(i, opened, leave)) for i in range(start, start + AT_ONCE)
        ]
        await opened.wait()  # all of this batch are connected now
        if start == 0:
            assert await metric(api, "reelay_sse_subscriptions") == AT_ONCE
            assert await metric(api, "reelay_sse_streams") == AT_ONCE
        leave.set()
        await asyncio.gather(*batch)

    after = await settle(api, tasks_at_most=baseline["reelay_asyncio_tasks"] + 2)
    assert after["reelay_sse_subscriptions"] == 0
    assert after["reelay_sse_streams"] == 0
    assert after["reelay_asyncio_tasks"] <= baseline["reelay_asyncio_tasks"] + 2, (baseline, after)

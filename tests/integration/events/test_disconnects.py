"""Clients that go away release everything: observed from outside through /metrics."""

from __future__ import annotations

import asyncio

import httpx

from tests.support.client import Account, metric
from tests.support.factories import create_media
from tests.support.sse import messages
from tests.support.waits import until

CYCLES = 100
AT_ONCE = 10


async def settle(api: httpx.AsyncClient, *, tasks_at_most: float) -> dict[str, float]:
    """/metrics once the streams are gone and the tasks are few again."""

    async def settled() -> dict[str, float]:
        seen = {
            name: await metric(api, name)
            for name in ("reelay_sse_subscriptions", "reelay_sse_streams", "reelay_asyncio_tasks")
        }
        assert seen["reelay_sse_subscriptions"] == 0 and seen["reelay_sse_streams"] == 0, seen
        assert seen["reelay_asyncio_tasks"] <= tasks_at_most, seen
        return seen

    return await until(settled, what="every stream and its tasks gone")


async def test_100_connect_disconnect_cycles_leave_no_subscription_queue_or_task_behind(
    api: httpx.AsyncClient, account: Account
) -> None:
    media_id = (await create_media(api, account))["id"]
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

"""Waiting in tests: poll for the thing itself, never sleep for a guessed time.

Deadlines are generous, for a loaded 2-core machine: they only stop a test that would otherwise
hang, and a test that passes never waits for one.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import psutil
import pytest
from arq import ArqRedis
from arq.jobs import JobResult, JobStatus
from reelay_core import jobs

from tests.support.client import Account

T = TypeVar("T")

DEADLINE = 60.0
# Long enough for a short video to be processed while other tests' jobs share the 2 cores.
JOB_DEADLINE = 180.0
TERMINAL = {"completed", "failed", "canceled"}


async def until(
    check: Callable[[], T | Awaitable[T]],
    *,
    what: str,
    within: float = DEADLINE,
    interval: float = 0.1,
) -> T:
    """Call `check` (sync or async) until it returns something truthy, and return that. A check
    that fails an assertion is tried again; at the deadline its last failure is the cause."""
    deadline = time.monotonic() + within
    while True:
        failure: AssertionError | None = None
        try:
            result = check()
            value = await result if inspect.isawaitable(result) else result
        except AssertionError as exc:
            failure, value = exc, None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:g} s") from failure
        await asyncio.sleep(interval)


def until_sync(check: Callable[[], T], *, what: str, within: float = DEADLINE) -> T:
    """`until` for synchronous fixtures, which block while they wait."""
    deadline = time.monotonic() + within
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:g} s")
        time.sleep(0.1)
    return value


def exited(pid: int) -> bool:
    """Exited; a zombie counts (once reparented, init reaps it when it gets to it)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def job_finished(redis: ArqRedis, job_id: str, *, within: float = JOB_DEADLINE) -> JobResult:
    """What the job ended with, once arq has its result: the worker is done with it."""
    job = jobs.handle(redis, job_id)

    async def finished() -> bool:
        return await job.status() == JobStatus.complete

    await until(finished, what=f"job {job_id} finished", within=within)
    info = await job.result_info()
    assert info is not None, f"the result of {job_id} is gone"
    return info


async def media_state(api: httpx.AsyncClient, account: Account, media_id: str) -> dict[str, Any]:
    """GET the item, whichever kind it is."""
    answer = await api.get(f"/videos/{media_id}", headers=account.headers)
    if answer.status_code == 404:
        answer = await api.get(f"/images/{media_id}", headers=account.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def wait_for_media(
    api: httpx.AsyncClient,
    account: Account,
    media_id: str,
    condition: Callable[[dict[str, Any]], bool],
    *,
    what: str,
    within: float = JOB_DEADLINE,
) -> dict[str, Any]:
    """The item once `condition` holds for it. An item that ends (completed, failed, canceled)
    without meeting it fails the test at once: nothing more will happen to it."""

    async def reached() -> dict[str, Any] | None:
        media = await media_state(api, account, media_id)
        if condition(media):
            return media
        if media["status"] in TERMINAL:
            pytest.fail(f"waiting for {what}, the item ended {media['status']}: {media}")
        return None

    return await until(reached, what=what, within=within, interval=0.2)


async def wait_for_status(
    api: httpx.AsyncClient,
    account: Account,
    media_id: str,
    statuses: set[str],
    *,
    within: float = JOB_DEADLINE,
) -> dict[str, Any]:
    return await wait_for_media(
        api,
        account,
        media_id,
        lambda media: media["status"] in statuses,
        what=f"status in {sorted(statuses)}",
        within=within,
    )


async def wait_terminal(
    api: httpx.AsyncClient, account: Account, media_id: str, *, within: float = JOB_DEADLINE
) -> dict[str, Any]:
    return await wait_for_status(api, account, media_id, TERMINAL, within=within)

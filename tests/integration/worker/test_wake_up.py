"""A worker takes a job when it is enqueued, due or aborted, or when a slot frees up — not at its
next poll: here the poll is an hour away, so a job that waited for it would never run in time."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import pytest
from arq import ArqRedis, func
from reelay_core import jobs
from reelay_core.settings import Settings
from reelay_worker.worker import Worker

from tests.support.waits import DEADLINE, until

AN_HOUR = 3600.0


@dataclass
class Probe:
    """Stands in for the transcode job: records which items started, and holds them if asked."""

    started: dict[str, asyncio.Event] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    hold: bool = False

    def event(self, media_id: str) -> asyncio.Event:
        return self.started.setdefault(media_id, asyncio.Event())

    async def transcode(
        self, ctx: dict[str, Any], media_id: str, attempt: int, request_id: str | None = None
    ) -> None:
        self.event(media_id).set()
        try:
            if self.hold:
                await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.add(media_id)
            raise

    async def wait_started(self, media_id: uuid.UUID) -> None:
        await asyncio.wait_for(self.event(str(media_id)).wait(), DEADLINE)


@asynccontextmanager
async def idle_worker(
    settings: Settings, probe: Probe, *, max_jobs: int = 2
) -> AsyncIterator[ArqRedis]:
    """A worker on a private queue, subscribed and idle; yields a pool for that queue."""
    queue = f"test:wake:{secrets.token_hex(4)}"
    url = str(settings.redis_url)
    client = await jobs.connect(url, queue_name=queue)
    worker = Worker(
        functions=[func(probe.transcode, name=jobs.TRANSCODE, max_tries=1)],
        redis_pool=await jobs.connect(url, queue_name=queue),
        queue_name=queue,
        handle_signals=False,
        allow_abort_jobs=True,
        max_jobs=max_jobs,
        drain_seconds=0,
        poll_seconds=AN_HOUR,
        **jobs.SERIALIZATION,
    )
    main = asyncio.create_task(worker.main())
    try:
        await until(lambda: worker.listening.is_set() and worker.idle, what="worker idle")
        yield client
    finally:
        probe.release.set()
        main.cancel()
        with suppress(asyncio.CancelledError):
            await main
        # Let released jobs finish: close() stops the worker as a signal does, which cancels
        # whatever still runs (arq's own wrap-up of a job included).
        await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
        await worker.close()
        await client.delete(queue)
        await client.aclose()


@pytest.fixture
def probe() -> Probe:
    return Probe()


async def test_an_enqueued_job_starts_without_waiting_for_the_poll(
    stack_settings: Settings, probe: Probe
) -> None:
    async with idle_worker(stack_settings, probe) as client:
        media_id = uuid.uuid4()
        await jobs.enqueue_transcode(client, media_id, 1)
        await probe.wait_started(media_id)


async def test_a_deferred_job_starts_when_it_is_due(stack_settings: Settings, probe: Probe) -> None:
    async with idle_worker(stack_settings, probe) as client:
        media_id = uuid.uuid4()
        await jobs.enqueue_transcode(client, media_id, 1, defer_by=0.5)
        await probe.wait_started(media_id)


async def test_a_queued_job_starts_when_a_slot_frees_up(
    stack_settings: Settings, probe: Probe
) -> None:
    probe.hold = True
    async with idle_worker(stack_settings, probe, max_jobs=1) as client:
        first, second = uuid.uuid4(), uuid.uuid4()
        await jobs.enqueue_transcode(client, first, 1)
        await probe.wait_started(first)
        await jobs.enqueue_transcode(client, second, 1)  # the worker is full: it stays queued
        assert not probe.event(str(second)).is_set()
        probe.release.set()
        await probe.wait_started(second)


async def test_an_abort_reaches_the_running_job_without_waiting_for_the_poll(
    stack_settings: Settings, probe: Probe
) -> None:
    probe.hold = True
    async with idle_worker(stack_settings, probe) as client:
        media_id = uuid.uuid4()
        await jobs.enqueue_transcode(client, media_id, 1)
        await probe.wait_started(media_id)
        await jobs.abort(client, jobs.transcode_job_id(media_id, 1), wait=DEADLINE)
        assert probe.cancelled == {str(media_id)}

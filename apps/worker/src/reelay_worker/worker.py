"""The one registry of worker jobs and crons, the worker's start-up and shutdown, and its stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import tempfile
from contextlib import AsyncExitStack
from signal import Signals
from typing import Any

import arq.worker
from arq import cron, func
from arq.utils import timestamp_ms
from redis.exceptions import RedisError
from reelay_core import jobs
from reelay_core.settings import Settings

from reelay_worker import webhooks, workdirs
from reelay_worker.jobs.tasks import (
    STOPPING,
    abort_stale_uploads,
    purge,
    sweep_leases,
    transcode,
)
from reelay_worker.resources import open_resources

log = logging.getLogger(__name__)


class Worker(arq.worker.Worker):
    """arq's worker with reelay's stop. On SIGTERM or SIGINT it takes no new job, lets running
    jobs finish within `drain_seconds`, then cancels them; a transcode cancelled so hands its
    item back without costing an attempt (see `tasks.transcode`). A second signal ends the
    wait at once.

    arq's own stop cancels the task that wraps each job, which always ends as "cancelled, will
    be run again"; cancelling the job's own task lets a handed-back job end as a result, so arq
    neither says nor does that (its attempt number no longer owns the item)."""

    def __init__(self, *, drain_seconds: float, poll_seconds: float = 2.0, **kwargs: Any) -> None:
        # arq's loop runs without a pause of its own: `_wait_for_work` is the pause, and it ends
        # early when there is something to do (job_completion_wait 0: arq routes both signals
        # to handle_sig).
        super().__init__(**{**kwargs, "poll_delay": 0})
        self.drain_seconds = drain_seconds
        self.poll_seconds = poll_seconds
        self.stopping = self.ctx[STOPPING] = asyncio.Event()
        self._stop_now = asyncio.Event()
        self._wake = asyncio.Event()
        self.listening = asyncio.Event()  # subscribed to the wake-up channel
        self._listener: asyncio.Task[None] | None = None
        self._waiting = False

    @property
    def idle(self) -> bool:
        """Waiting, with no wake-up pending: only a new one or the poll ends the wait."""
        return self._waiting and not self._wake.is_set()

    async def _poll_iteration(self) -> None:
        # Cleared before arq reads the queue: a wake-up during the read is kept for the wait.
        self._wake.clear()
        read_at = timestamp_ms()
        await super()._poll_iteration()
        await self._wait_for_work(read_at)

    async def _wait_for_work(self, read_at: int) -> None:
        """Until a job is enqueued or aborted (`jobs.wake_workers`), a job slot frees up, the
        next deferred job is due, or `poll_seconds` have passed: polling every 0.5 s, as arq
        does, made a job wait 250 ms on average before it started."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="worker-wake-up")
        timeout = self.poll_seconds
        if self.allow_pick_jobs and self.job_counter < self.max_jobs:
            timeout = min(timeout, await self._seconds_to_next_job(read_at))
        self._waiting = True
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
        finally:
            self._waiting = False

    async def _seconds_to_next_job(self, read_at: int) -> float:
        # Jobs due by `read_at` were in arq's read; a later one is deferred (a retry's backoff,
        # a cron run enqueued ahead of its time).
        due = await self.pool.zrangebyscore(
            self.queue_name, min=f"({read_at}", max="+inf", start=0, num=1, withscores=True
        )
        return max(0.0, (due[0][1] - timestamp_ms()) / 1000) if due else math.inf

    async def _listen(self) -> None:
        channel = jobs.wake_channel(self.queue_name)
        while True:
            try:
                async with self.pool.pubsub() as pubsub:
                    await pubsub.subscribe(channel)
                    self.listening.set()
                    self._wake.set()  # whatever was enqueued while no one listened
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._wake.set()
                raise ConnectionError("the wake-up subscription ended")
            except (RedisError, OSError) as exc:
                # Lost with Redis: the poll goes on meanwhile, and resubscribing wakes us.
                self.listening.clear()
                log.warning("lost the wake-up channel (%r); resubscribing", exc)
                await asyncio.sleep(1.0)

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        self._wake.set()  # a slot is free: take the next queued job now

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await super().close()

    def handle_sig(self, signum: int) -> None:
        signal = Signals(signum)
        if self.stopping.is_set():
            log.info("%s again: handing back the running jobs now", signal.name)
            self._stop_now.set()
            return
        self.stopping.set()
        self.allow_pick_jobs = False
        running = len(self.job_tasks)
        if self.drain_seconds > 0:
            log.info(
                "stopping on %s: no new jobs; %d running get %g s to finish before they are "
                "handed back", signal.name, running, self.drain_seconds,
            )  # fmt: skip
        else:
            log.info(
                "stopping on %s: no new jobs; handing back the %d running", signal.name, running
            )
        # Held here: the event loop keeps only a weak reference to its tasks.
        self._stopper = self.loop.create_task(self._drain_then_stop())

    async def _drain_then_stop(self) -> None:
        # self.tasks empties as the poll loop (still running) collects finished jobs.
        drained = asyncio.ensure_future(self._sleep_until_tasks_complete())
        cut_short = asyncio.ensure_future(self._stop_now.wait())
        await asyncio.wait(
            [drained, cut_short], timeout=self.drain_seconds, return_when=asyncio.FIRST_COMPLETED
        )
        drained.cancel()
        cut_short.cancel()
        for job_id, wrapper in self.tasks.items():
            # A job still in arq's preamble has no task of its own yet.
            self.job_tasks.get(job_id, wrapper).cancel()
        if self.main_task is not None:
            self.main_task.cancel()  # run() then waits for the jobs in close()


def make_worker_settings(settings: Settings) -> type:
    async def startup(ctx: dict[str, Any]) -> None:
        stack = ctx["stack"] = AsyncExitStack()
        ctx["res"] = await stack.enter_async_context(open_resources(settings, ctx["redis"]))
        await stack.enter_async_context(webhooks.sending(ctx["res"]))
        if orphans := workdirs.remove_orphans():
            log.info("removed %d temp dirs of jobs whose worker was killed", orphans)
        log.info(
            "worker ready: %d jobs at once, ffmpeg %s, temp dirs in %s",
            settings.worker_concurrency, ctx["res"].ffmpeg, tempfile.gettempdir(),
        )  # fmt: skip

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "stack" in ctx:
            await ctx["stack"].aclose()

    attributes = {
        "functions": [
            # max_tries=1: a crashed attempt is requeued by sweep_leases under a new attempt
            # number, so arq itself must not re-run the old one.
            func(transcode, name=jobs.TRANSCODE, timeout=settings.job_timeout_seconds, max_tries=1),
            func(purge, name=jobs.PURGE, timeout=600, max_tries=3),
        ],
        "cron_jobs": [
            cron(
                sweep_leases,
                name=jobs.SWEEP_LEASES,
                second=set(range(0, 60, 5)),
                run_at_startup=True,
                timeout=60,
                unique=True,
            ),
            cron(
                abort_stale_uploads,
                name=jobs.ABORT_STALE_UPLOADS,
                minute={7, 37},
                second=0,
                timeout=600,
                unique=True,
            ),
        ],
        "redis_settings": jobs.redis_settings(str(settings.redis_url)),
        **jobs.SERIALIZATION,
        "max_jobs": settings.worker_concurrency,
        "job_timeout": settings.job_timeout_seconds,
        "allow_abort_jobs": True,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "health_check_interval": 10,
    }
    return type("WorkerSettings", (), attributes)


def run(settings: Settings) -> None:
    """Run a worker until it is stopped by a signal."""
    worker_settings = make_worker_settings(settings)
    Worker(
        **arq.worker.get_kwargs(worker_settings),
        drain_seconds=settings.worker_drain_seconds,
        poll_seconds=settings.worker_poll_seconds,
    ).run()

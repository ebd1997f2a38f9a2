"""The one registry of worker jobs and crons, and the worker's start-up and shutdown."""

from __future__ import annotations

import logging
import tempfile
from contextlib import AsyncExitStack
from typing import Any

from arq import cron, func
from reelay_core import jobs
from reelay_core.settings import Settings

from reelay_worker.jobs.tasks import abort_stale_uploads, purge, sweep_leases, transcode
from reelay_worker.resources import open_resources

log = logging.getLogger(__name__)


def make_worker_settings(settings: Settings) -> type:
    async def startup(ctx: dict[str, Any]) -> None:
        stack = ctx["stack"] = AsyncExitStack()
        ctx["res"] = await stack.enter_async_context(open_resources(settings, ctx["redis"]))
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

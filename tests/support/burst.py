"""Jobs run in-process: worker resources on an arq queue of their own, so the session's worker
process never takes those jobs, and a burst worker that runs them to the end."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq import func
from arq.worker import Worker
from reelay_core import jobs
from reelay_core.settings import Settings
from reelay_worker.jobs.tasks import transcode
from reelay_worker.resources import WorkerResources, open_resources


@asynccontextmanager
async def private_queue_resources(settings: Settings, name: str) -> AsyncIterator[WorkerResources]:
    queue = f"test:{name}:{secrets.token_hex(4)}"
    redis = await jobs.connect(str(settings.redis_url), queue_name=queue)
    try:
        async with open_resources(settings, redis) as opened:
            yield opened
    finally:
        await redis.delete(queue)
        await redis.aclose()


async def run_jobs(res: WorkerResources) -> Worker:
    """Run every job on the resources' queue, deferred retries included, until none is left."""
    worker = Worker(
        functions=[func(transcode, name=jobs.TRANSCODE, max_tries=1, timeout=120)],
        redis_pool=res.redis,
        queue_name=res.redis.default_queue_name,
        burst=True,
        poll_delay=0.05,
        handle_signals=False,
        allow_abort_jobs=True,
        ctx={"res": res},
        **jobs.SERIALIZATION,
    )
    await worker.main()
    return worker

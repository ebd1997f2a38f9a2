"""The lease sweeper re-runs a queued item whose job ended before it could claim the item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from arq import func
from arq.worker import Worker
from reelay_core import jobs
from reelay_core.db import models as m
from reelay_worker.jobs.tasks import sweep_leases
from reelay_worker.resources import WorkerResources
from sqlalchemy import update

from tests.support.client import register
from tests.support.factories import create_media, post_form
from tests.support.waits import wait_terminal

SIDE_QUEUE = "test:jobs-that-die-early"


async def die_before_claiming(ctx: dict[str, Any], media_id: str, attempt: int) -> None:
    # What a transcode job does when Postgres is unreachable at the moment it claims its item.
    raise ConnectionRefusedError("database unreachable")


async def test_a_job_that_died_before_claiming_is_run_again(
    api: httpx.AsyncClient, worker_resources: WorkerResources, clip_small: Path
) -> None:
    account = await register(api)
    media = await create_media(api, account, clip_small)
    assert (await post_form(media["upload"], clip_small)).status_code in (200, 204)
    res = worker_resources

    # The item is queued (as /complete leaves it) a while ago, and its job ran on a queue no
    # real worker reads, where it died before claiming.
    job_id = jobs.transcode_job_id(media["id"], 1)
    async with res.sessions() as db:
        await db.execute(
            update(m.Media)
            .where(m.Media.id == media["id"])
            .values(status="queued", attempt=1, job_id=job_id,
                    queued_at=datetime.now(UTC) - timedelta(minutes=5))
        )  # fmt: skip
        await db.commit()
    await res.redis.enqueue_job(
        jobs.TRANSCODE, media["id"], 1, _job_id=job_id, _queue_name=SIDE_QUEUE
    )
    side_worker = Worker(
        functions=[func(die_before_claiming, name=jobs.TRANSCODE, max_tries=1)],
        redis_pool=res.redis, queue_name=SIDE_QUEUE, burst=True, poll_delay=0.1,
        handle_signals=False, **jobs.SERIALIZATION,
    )  # fmt: skip
    await side_worker.main()
    assert side_worker.jobs_failed == 1

    # The session's real worker runs this sweep every 5 s too; whichever call comes first
    # re-enqueues the attempt (without the fix, neither would).
    await sweep_leases({"res": res})

    # The session's real worker now takes the same attempt and finishes it.
    final = await wait_terminal(api, account, media["id"])
    assert final["status"] == "completed" and final["attempts"] == 1

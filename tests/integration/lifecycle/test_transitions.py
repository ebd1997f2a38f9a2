"""Every lifecycle step against the real servers, with jobs run by an in-process burst worker."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from arq.jobs import Job, JobStatus
from reelay_core import effects
from reelay_core.db import models as m
from reelay_core.db.models import MediaStatus
from reelay_core.effects import unit_of_work
from reelay_core.media import transitions
from reelay_core.media.transitions import IllegalTransition
from reelay_worker.jobs import tasks
from reelay_worker.resources import WorkerResources
from sqlalchemy import func, select, update

from tests.integration.lifecycle.conftest import (
    Heard,
    add_media,
    load,
    stored_events,
)
from tests.support.burst import run_jobs


async def queue(res: WorkerResources, media: m.Media, attempt: int = 1) -> None:
    async with unit_of_work(res) as db:
        row = await db.get(m.Media, media.id, with_for_update=True)
        assert row is not None
        await transitions.queue_attempt(db, row, attempt=attempt)


async def job_status(res: WorkerResources, media: m.Media, attempt: int) -> JobStatus:
    job_id = f"transcode:{media.id}:{attempt}"
    return await Job(job_id, res.redis, _queue_name=res.redis.default_queue_name).status()


async def test_an_uploaded_video_runs_to_completed(res: WorkerResources, tiny_clip: Path) -> None:
    media = await add_media(res, source=tiny_clip)
    async with Heard(res.redis, media.id) as heard:
        await queue(res, media)
        queued = await heard.next()
        assert queued["status"] == "queued" and queued["attempts"] == 1
        assert await job_status(res, media, 1) == JobStatus.queued

        worker = await run_jobs(res)
        assert worker.jobs_complete == 1
        statuses = [(await heard.next())["status"]]
        while statuses[-1] != "completed":
            statuses.append((await heard.next())["status"])
    assert statuses[0] == "processing"

    done = await load(res, media.id)
    assert done.status is MediaStatus.COMPLETED and done.progress == 100
    assert done.completed_at is not None and done.lease_expires_at is None
    assert {o["name"] for o in done.outputs} >= {"mp4", "poster"}
    names = [e.event for e in await stored_events(res, media.id)]
    assert names[0] == "status" and names[1] == "status" and names[-1] == "completed"
    assert "progress" in names


async def test_queued_at_is_the_database_clock(res: WorkerResources) -> None:
    media = await add_media(res)
    async with unit_of_work(res) as db:
        row = await db.get(m.Media, media.id, with_for_update=True)
        assert row is not None
        await transitions.queue_attempt(db, row, attempt=1)
        # now() is the transaction's start in Postgres: equal only if the database set it.
        assert row.queued_at == await db.scalar(select(func.now()))


async def test_an_illegal_transition_is_refused_before_any_write(res: WorkerResources) -> None:
    media = await add_media(res)
    async with unit_of_work(res) as db:
        await db.execute(
            update(m.Media).where(m.Media.id == media.id).values(status=MediaStatus.COMPLETED)
        )
    with pytest.raises(IllegalTransition, match="from completed to queued"):
        await queue(res, media, attempt=2)
    after = await load(res, media.id)
    assert after.status is MediaStatus.COMPLETED and after.last_event_seq == 0
    assert await job_status(res, media, 2) == JobStatus.not_found


async def test_a_rolled_back_step_publishes_and_enqueues_nothing(res: WorkerResources) -> None:
    media = await add_media(res)
    with pytest.raises(RuntimeError):
        async with unit_of_work(res) as db:
            row = await db.get(m.Media, media.id, with_for_update=True)
            assert row is not None
            await transitions.queue_attempt(db, row, attempt=1)
            # publish, the webhook event for `reelay webhooks listen`, enqueue
            assert len(effects.pending(db)) == 3
            raise RuntimeError("the request failed after the step")
    assert (await load(res, media.id)).status is MediaStatus.AWAITING_UPLOAD
    assert await job_status(res, media, 1) == JobStatus.not_found


async def test_a_worker_step_on_an_item_it_does_not_own_writes_nothing(
    res: WorkerResources,
) -> None:
    media = await add_media(res)
    await queue(res, media)
    async with unit_of_work(res) as db:  # attempt 1 was never claimed: it is not running
        assert not await transitions.complete(db, media.id, 1, [])
        assert not await transitions.fail(db, media.id, 1, "x", "y")
        assert await transitions.claim(db, media.id, 2, lease_seconds=6) is None
    assert (await load(res, media.id)).status is MediaStatus.QUEUED


async def test_cancel_aborts_the_queued_job(res: WorkerResources) -> None:
    media = await add_media(res)
    await queue(res, media)
    async with Heard(res.redis, media.id) as heard:
        async with unit_of_work(res) as db:
            row = await db.get(m.Media, media.id, with_for_update=True)
            assert row is not None
            await transitions.cancel(db, row)
        assert (await heard.next())["status"] == "canceled"
    worker = await run_jobs(res)
    # arq drops an aborted job before it starts; had it started, its claim would be fenced off.
    assert worker.jobs_complete == 0
    assert (await load(res, media.id)).status is MediaStatus.CANCELED


async def test_a_transient_failure_retries_until_attempts_run_out(res: WorkerResources) -> None:
    media = await add_media(res)  # its source was never stored: every download fails
    await queue(res, media)
    worker = await run_jobs(res)
    max_attempts = res.settings.max_attempts
    assert worker.jobs_complete == max_attempts

    failed = await load(res, media.id)
    assert failed.status is MediaStatus.FAILED and failed.attempt == max_attempts
    assert failed.error_code == "transcode_failed"
    assert failed.error_message and f"failed {max_attempts} times" in failed.error_message
    statuses = [
        e.data["status"] for e in await stored_events(res, media.id) if e.event != "progress"
    ]
    retried = ["processing", "queued"] * (max_attempts - 1)
    assert statuses == ["queued", *retried, "processing", "failed"]


async def test_a_bug_in_the_pipeline_fails_the_item_as_internal_error(
    res: WorkerResources, tiny_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_pipeline(*_: object) -> list[object]:
        raise KeyError("a bug of ours")

    monkeypatch.setitem(tasks.PIPELINES, m.MediaKind.VIDEO, broken_pipeline)
    media = await add_media(res, source=tiny_clip)
    await queue(res, media)
    await run_jobs(res)
    failed = await load(res, media.id)
    assert failed.status is MediaStatus.FAILED and failed.attempt == 1  # not retried
    assert failed.error_code == "internal_error" and "KeyError" in (failed.error_message or "")


async def expire_lease(res: WorkerResources, media: m.Media, attempt: int) -> None:
    """What a worker that died mid-job leaves behind: processing, its lease run out."""
    async with unit_of_work(res) as db:
        await db.execute(
            update(m.Media)
            .where(m.Media.id == media.id)
            .values(
                status=MediaStatus.PROCESSING,
                attempt=attempt,
                lease_expires_at=func.now() - timedelta(seconds=1),
            )
        )


async def test_a_lost_worker_s_item_is_requeued_under_the_next_attempt(
    res: WorkerResources, tiny_clip: Path
) -> None:
    media = await add_media(res, source=tiny_clip)
    await expire_lease(res, media, attempt=1)
    assert await tasks.sweep_leases({"res": res}) == {"requeued": 1, "reenqueued": 0}
    requeued = await load(res, media.id)
    assert requeued.status is MediaStatus.QUEUED and requeued.attempt == 2
    assert requeued.job_id == f"transcode:{media.id}:2"
    assert await job_status(res, media, 2) == JobStatus.queued
    await run_jobs(res)
    assert (await load(res, media.id)).status is MediaStatus.COMPLETED


async def test_a_lost_worker_on_the_last_attempt_fails_the_item(res: WorkerResources) -> None:
    media = await add_media(res)
    await expire_lease(res, media, attempt=res.settings.max_attempts)
    assert await tasks.sweep_leases({"res": res}) == {"requeued": 0, "reenqueued": 0}
    failed = await load(res, media.id)
    assert failed.status is MediaStatus.FAILED and failed.error_code == "worker_lost"
    assert f"{res.settings.max_attempts} times" in (failed.error_message or "")


async def test_an_upload_left_unfinished_expires(res: WorkerResources) -> None:
    media = await add_media(res)
    await res.storage.upload_file(Path(__file__), media.source_key, content_type="video/mp4")
    async with unit_of_work(res) as db:
        row = await db.get(m.Media, media.id)
        assert row is not None
        assert await transitions.expire_upload(db, row, hours=24)
    expired = await load(res, media.id)
    assert expired.status is MediaStatus.CANCELED and expired.error_code == "upload_expired"
    assert await res.storage.list_keys(f"media/{media.id}/") == []
    async with unit_of_work(res) as db:  # once canceled, it is not an upload in progress
        row = await db.get(m.Media, media.id)
        assert row is not None
        assert not await transitions.expire_upload(db, row, hours=24)

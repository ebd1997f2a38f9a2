"""A stopping worker hands its item back: queued again at once, at no cost in attempts."""

from __future__ import annotations

from pathlib import Path

from arq.jobs import JobStatus
from reelay_core import jobs
from reelay_core.db import models as m
from reelay_core.db.models import MediaStatus
from reelay_core.effects import unit_of_work
from reelay_core.media import transitions
from reelay_worker.jobs.attempt import Attempt
from reelay_worker.resources import WorkerResources

from tests.integration.lifecycle.conftest import Heard, add_media, load
from tests.support.burst import run_jobs


async def queue(res: WorkerResources, media: m.Media) -> None:
    async with unit_of_work(res) as db:
        row = await db.get(m.Media, media.id, with_for_update=True)
        assert row is not None
        await transitions.queue_attempt(db, row, attempt=1)


async def claim_and_hand_back(res: WorkerResources, media: m.Media, number: int) -> bool:
    """What a worker stopped mid-job does with attempt `number`."""
    attempt = Attempt(res, media.id, number)
    assert await attempt.claim() is not None
    return await attempt.hand_back()


async def test_a_hand_back_costs_no_attempt_and_never_exhausts(
    res: WorkerResources, tiny_clip: Path
) -> None:
    media = await add_media(res, source=tiny_clip)
    stops = res.settings.max_attempts + 1
    async with Heard(res.redis, media.id) as heard:
        await queue(res, media)
        assert (await heard.next())["attempts"] == 1
        for number in range(1, stops + 1):
            assert await claim_and_hand_back(res, media, number)
            processing, queued = await heard.next(), await heard.next()
            assert processing["status"] == "processing" and processing["attempts"] == 1
            assert queued["status"] == "queued" and queued["attempts"] == 1
            assert "error" not in queued

            handed_back = await load(res, media.id)
            assert handed_back.status is MediaStatus.QUEUED and handed_back.error_code is None
            assert (handed_back.attempt, handed_back.handbacks) == (number + 1, number)
            # Enqueued to start at once, not deferred like a retry or left to the sweeper.
            job = jobs.handle(res.redis, handed_back.job_id or "")
            assert await job.status() == JobStatus.queued
            info = await job.info()
            assert info is not None and info.score is not None
            assert info.score == round(info.enqueue_time.timestamp() * 1000)

    await run_jobs(res)
    done = await load(res, media.id)
    assert done.status is MediaStatus.COMPLETED and done.attempts == 1
    assert done.attempt == stops + 1


async def test_a_handed_back_item_still_fails_once_its_failures_use_up_the_attempts(
    res: WorkerResources,
) -> None:
    media = await add_media(res)  # its source was never stored: every download fails
    await queue(res, media)
    for number in (1, 2):
        assert await claim_and_hand_back(res, media, number)

    await run_jobs(res)

    max_attempts = res.settings.max_attempts
    failed = await load(res, media.id)
    assert failed.status is MediaStatus.FAILED and failed.error_code == "transcode_failed"
    assert failed.attempts == max_attempts and failed.attempt == max_attempts + 2
    assert f"failed {max_attempts} times" in (failed.error_message or "")


async def test_a_hand_back_of_an_item_no_longer_its_own_writes_nothing(
    res: WorkerResources,
) -> None:
    media = await add_media(res)
    await queue(res, media)
    attempt = Attempt(res, media.id, 1)
    assert await attempt.claim() is not None
    async with unit_of_work(res) as db:
        row = await db.get(m.Media, media.id, with_for_update=True)
        assert row is not None
        await transitions.cancel(db, row)
    assert not await attempt.hand_back()
    canceled = await load(res, media.id)
    assert canceled.status is MediaStatus.CANCELED
    assert (canceled.attempt, canceled.handbacks) == (1, 0)

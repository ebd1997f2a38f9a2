"""The media jobs arq runs: transcode one attempt, requeue dead workers' items, expire uploads."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from arq.constants import result_key_prefix
from arq.jobs import Job, JobStatus
from botocore.exceptions import BotoCoreError, ClientError
from reelay_core import jobs
from reelay_core.db import models as m
from reelay_core.db.models import MediaKind, MediaStatus
from reelay_core.effects import unit_of_work
from reelay_core.logging import bound_request_id
from reelay_core.media import keys, transitions
from reelay_core.media.errors import MediaRejected
from reelay_core.storage import StorageError
from sqlalchemy import func, select
from sqlalchemy.exc import InterfaceError, OperationalError

from reelay_worker.jobs.attempt import Attempt, Fenced
from reelay_worker.pipeline.errors import (
    FFmpegError,
    FFmpegKilled,
    FFmpegOutputMissing,
    FFmpegStalled,
)
from reelay_worker.pipeline.image import process_image
from reelay_worker.pipeline.outputs import discard
from reelay_worker.pipeline.video import process_video
from reelay_worker.resources import WorkerResources
from reelay_worker.workdirs import Workdir

log = logging.getLogger(__name__)

# Worth another attempt: the same input may well succeed next time. FFmpegOutputMissing is a
# failed segment write (a full disk), not a bad input.
TRANSIENT = (
    FFmpegKilled, FFmpegStalled, FFmpegOutputMissing, StorageError, BotoCoreError, ClientError,
    OSError, ConnectionError, TimeoutError, OperationalError, InterfaceError,
)  # fmt: skip
PIPELINES = {MediaKind.VIDEO: process_video, MediaKind.IMAGE: process_image}
# A queued item whose job vanished from Redis (e.g. Redis lost its data) is re-enqueued after this.
QUEUED_GRACE = timedelta(seconds=60)


# ctx key of an asyncio.Event the worker sets when it is told to stop (reelay_worker.worker).
STOPPING = "stopping"


def worker_stopping(ctx: dict[str, Any]) -> bool:
    stopping: asyncio.Event | None = ctx.get(STOPPING)
    return stopping is not None and stopping.is_set()


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


async def transcode(
    ctx: dict[str, Any], media_id: str, attempt_number: int, request_id: str | None = None
) -> str:
    """Run one attempt; `request_id` is the API request that queued it, for the log lines."""
    res: WorkerResources = ctx["res"]
    with bound_request_id(request_id):
        attempt = Attempt(res, uuid.UUID(media_id), attempt_number)
        media = await attempt.claim()
        if media is None:
            return "not ours: canceled, deleted or superseded"
        try:
            workdir = Workdir.create(media_id)
        except OSError as exc:  # full or missing temp dir: this worker cannot run it, another may
            await attempt.retry_later(describe(exc))
            return f"retrying: {describe(exc)}"
        # Started only now: nothing may leave it renewing the lease of an attempt that has ended.
        job = asyncio.current_task()
        assert job is not None  # arq runs every job in a task of its own
        lease = asyncio.create_task(attempt.keep_lease(job))
        try:
            outcome = await run_pipeline(attempt, media, workdir.path)
            log.info("media %s attempt %s: %s", media_id, attempt_number, outcome)
            return outcome
        except asyncio.CancelledError:
            lease.cancel()
            if attempt.lost:  # our own lease keeper stopped us: a normal end, not arq's business
                job.uncancel()
                await forget_if_deleted(res, media)
                return "stopped: no longer ours"
            if worker_stopping(ctx):
                # Not the item's fault: it goes back to the queue at once without costing an
                # attempt, and this job ends here rather than being re-run by arq under an
                # attempt number that no longer owns the item.
                job.uncancel()
                handed_back = await attempt.hand_back()
                await forget_if_deleted(res, media)
                return (
                    "handed back, not counted as an attempt"
                    if handed_back
                    else "stopped: not handed back"
                )
            # Aborted by the API (cancel/delete: this write is fenced off), or the job ran past
            # its time limit: a failure like any other, retried after its backoff.
            limit = res.settings.job_timeout_seconds
            await attempt.retry_later(f"the job ran longer than its limit of {limit} s")
            # An upload may have landed after the API's cleanup of a cancel: no attempt owns it.
            await discard(res.storage, keys.attempt_prefix(media.output_prefix, attempt.number))
            await forget_if_deleted(res, media)
            raise
        finally:
            lease.cancel()
            workdir.remove()


async def run_pipeline(attempt: Attempt, media: m.Media, workdir: Path) -> str:
    """Process the item and end the attempt by how that went: completed, failed at once (the
    input is at fault), or retried later (the failure may pass)."""
    try:
        outputs = await PIPELINES[media.kind](attempt, media, workdir)
        if await attempt.complete(outputs):
            return "completed"
    except MediaRejected as exc:
        log.info("media %s rejected: %s (%s)", media.id, exc, exc.detail)
        await attempt.fail(exc.code, exc.message)
        return f"failed: {exc.code}"
    except Fenced:
        pass
    except TRANSIENT as exc:
        log.warning("media %s attempt %s: %s", media.id, attempt.number, describe(exc))
        await attempt.retry_later(describe(exc))
        return f"retrying: {describe(exc)}"
    except FFmpegError as exc:  # FFmpeg itself refused the input: another try would too
        log.warning("media %s: %s; stderr: %s", media.id, exc, exc.stderr_tail[-10:])
        await attempt.fail("transcode_failed", f"FFmpeg could not convert this file: {exc}")
        return "failed: transcode_failed"
    except Exception as exc:  # a bug of ours: retrying would fail the same way, so end it now
        log.exception("media %s attempt %s: unexpected error", media.id, attempt.number)
        reason = f"Processing stopped on an unexpected error ({type(exc).__name__}); it is logged."
        await attempt.fail("internal_error", reason)
        return "failed: internal_error"
    # Canceled, deleted or superseded, maybe after its last upload: what it published is no one's.
    await discard(attempt.res.storage, keys.attempt_prefix(media.output_prefix, attempt.number))
    await forget_if_deleted(attempt.res, media)
    return "stopped: no longer ours"


async def forget_if_deleted(res: WorkerResources, media: m.Media) -> None:
    """The item was deleted while we worked: remove anything we uploaded after the API's cleanup."""
    try:
        async with res.sessions() as db:
            if await db.get(m.Media, media.id) is None:
                await res.storage.delete_prefix(keys.item_prefix(media.id))
    except Exception as exc:
        log.warning("cleanup after deleted media %s failed: %s", media.id, exc)


async def sweep_leases(ctx: dict[str, Any]) -> dict[str, int]:
    """Requeue items whose worker died (lease expired); re-enqueue queued items whose job is gone.

    Leases are set and compared in the database's clock, so workers' clocks may disagree.
    """
    res: WorkerResources = ctx["res"]
    requeued = await requeue_expired_leases(res)
    reenqueued = await reenqueue_lost_jobs(res)
    if requeued or reenqueued:
        log.info(
            "sweep: requeued %d items of dead workers, re-enqueued %d lost jobs",
            requeued,
            reenqueued,
        )
    return {"requeued": requeued, "reenqueued": reenqueued}


async def requeue_expired_leases(res: WorkerResources) -> int:
    """Items still processing whose lease ran out: their worker died."""
    async with unit_of_work(res) as db:
        expired = (
            await db.scalars(
                select(m.Media)
                .where(
                    m.Media.status == MediaStatus.PROCESSING,
                    m.Media.lease_expires_at < func.now(),
                )
                .with_for_update(skip_locked=True)
            )
        ).all()
        requeued = 0
        for media in expired:
            retried = media.attempts < res.settings.max_attempts
            if await transitions.requeue_lost(db, media, max_attempts=res.settings.max_attempts):
                requeued += retried
    return requeued


async def reenqueue_lost_jobs(res: WorkerResources) -> int:
    """Queued items whose job is not in Redis (Redis lost its data, an enqueue after commit
    failed): enqueue the same attempt again."""
    async with res.sessions() as db:
        queued = (
            await db.scalars(
                select(m.Media).where(
                    m.Media.status == MediaStatus.QUEUED,
                    m.Media.queued_at < func.now() - QUEUED_GRACE,
                )
            )
        ).all()
    reenqueued = 0
    for media in queued:
        try:
            reenqueued += await reenqueue_if_lost(res, media)
        except Exception as exc:  # Redis is down: the next sweep tries again
            log.warning("could not check the job of queued %s: %r", media.id, exc)
    return reenqueued


async def reenqueue_if_lost(res: WorkerResources, media: m.Media) -> bool:
    job_id = jobs.transcode_job_id(media.id, media.attempt)
    status = await Job(job_id, res.redis, _queue_name=res.redis.default_queue_name).status()
    if status == JobStatus.complete:
        # The job ended while its item is still queued: it failed before it could claim the
        # item (e.g. the database was unreachable). Its kept result would make the id look
        # taken for an hour, so drop the result and run the same attempt again.
        await res.redis.delete(result_key_prefix + job_id)
        status = JobStatus.not_found
    if status != JobStatus.not_found:
        return False
    await jobs.enqueue_transcode(res.redis, media.id, media.attempt)
    return True


async def purge(ctx: dict[str, Any], media_id: str) -> int:
    """Delete what is stored under a deleted item's prefix (see jobs.schedule_purge)."""
    res: WorkerResources = ctx["res"]
    async with res.sessions() as db:
        if await db.get(m.Media, uuid.UUID(media_id)) is not None:
            return 0  # not deleted after all: never touch a live item's objects
    return await res.storage.delete_prefix(keys.item_prefix(media_id))


async def abort_stale_uploads(ctx: dict[str, Any]) -> int:
    """Cancel uploads left unfinished past REELAY_STALE_UPLOAD_HOURS and delete their parts."""
    res: WorkerResources = ctx["res"]
    cutoff = datetime.now(UTC) - timedelta(hours=res.settings.stale_upload_hours)
    async with res.sessions() as db:
        stale = (
            await db.scalars(
                select(m.Media).where(
                    m.Media.status == MediaStatus.AWAITING_UPLOAD, m.Media.created_at < cutoff
                )
            )
        ).all()
    expired = 0
    for media in stale:
        # Canceled first, fenced on the status: an upload completed meanwhile is left alone, and
        # once canceled no `complete` can queue an item whose source is being deleted.
        async with unit_of_work(res) as db:
            expired += await transitions.expire_upload(
                db, media, hours=res.settings.stale_upload_hours
            )
    await abort_orphaned_uploads(res, cutoff)
    return expired


async def abort_orphaned_uploads(res: WorkerResources, cutoff: datetime) -> None:
    """Abort multipart uploads no item will complete (an API that died mid-upload, an abort that
    failed). No upload may stay open past the cutoff: items older than it were just canceled, so
    any upload older than it is dead, whether an item knows of it or not."""
    orphans = [
        upload
        for upload in await res.storage.open_multipart_uploads(keys.ROOT)
        if upload.initiated < cutoff
    ]
    for upload in orphans:
        await res.storage.abort_multipart(upload.key, upload.upload_id)
    if orphans:
        log.info("aborted %d multipart uploads no item owns", len(orphans))

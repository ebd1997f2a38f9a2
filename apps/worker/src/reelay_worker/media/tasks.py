"""The media jobs arq runs: transcode one attempt, requeue dead workers' items, expire uploads."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from arq.constants import result_key_prefix
from arq.jobs import Job, JobStatus
from botocore.exceptions import BotoCoreError, ClientError
from reelay_core import events, jobs
from reelay_core.db import models as m
from reelay_core.db.models import MediaKind, MediaStatus
from reelay_core.media.errors import MediaRejected
from reelay_core.storage import StorageError
from sqlalchemy import func, select
from sqlalchemy.exc import InterfaceError, OperationalError

from reelay_worker.media.attempt import Attempt, Fenced
from reelay_worker.pipeline.errors import (
    FFmpegError,
    FFmpegKilled,
    FFmpegOutputMissing,
    FFmpegStalled,
)
from reelay_worker.pipeline.image import process_image
from reelay_worker.pipeline.video import process_video
from reelay_worker.resources import WorkerResources

log = logging.getLogger(__name__)

# Worth another attempt: the same input may well succeed next time. FFmpegOutputMissing is a
# failed segment write (a full disk), not a bad input.
TRANSIENT = (
    FFmpegKilled, FFmpegStalled, FFmpegOutputMissing, StorageError, BotoCoreError, ClientError,
    OSError, ConnectionError, TimeoutError, OperationalError, InterfaceError,
)  # fmt: skip
# A queued item whose job vanished from Redis (e.g. Redis lost its data) is re-enqueued after this.
QUEUED_GRACE = timedelta(seconds=60)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


async def transcode(ctx: dict[str, Any], media_id: str, attempt_number: int) -> str:
    res: WorkerResources = ctx["res"]
    attempt = Attempt(res, uuid.UUID(media_id), attempt_number)
    media = await attempt.claim()
    if media is None:
        return "not ours: canceled, deleted or superseded"
    try:  # In the worker's TMPDIR; tests look for this prefix.
        workdir = Path(tempfile.mkdtemp(prefix=f"reelay-{media_id}-"))
    except OSError as exc:  # full or missing temp dir: this worker cannot run it, another may
        await attempt.retry_later(describe(exc))
        return f"retrying: {describe(exc)}"
    # Started only now: nothing may leave it renewing the lease of an attempt that has ended.
    lease = asyncio.create_task(attempt.keep_lease(asyncio.current_task()))  # type: ignore[arg-type]
    try:
        pipeline = process_video if media.kind == MediaKind.VIDEO else process_image
        outputs = await pipeline(attempt, media, workdir)
        if await attempt.complete(outputs):
            return "completed"
        await forget_if_deleted(res, media)
        return "stopped: no longer ours"
    except MediaRejected as exc:
        log.info("media %s rejected: %s (%s)", media_id, exc, exc.detail)
        await attempt.fail(exc.code, exc.message)
        return f"failed: {exc.code}"
    except Fenced:
        await forget_if_deleted(res, media)
        return "stopped: no longer ours"
    except TRANSIENT as exc:
        log.warning("media %s attempt %s: %s", media_id, attempt_number, describe(exc))
        await attempt.retry_later(describe(exc))
        return f"retrying: {describe(exc)}"
    except FFmpegError as exc:  # FFmpeg itself refused the input: another try would too
        log.warning("media %s: %s; stderr: %s", media_id, exc, exc.stderr_tail[-10:])
        await attempt.fail("transcode_failed", f"FFmpeg could not convert this file: {exc}")
        return "failed: transcode_failed"
    except asyncio.CancelledError:
        lease.cancel()
        if attempt.lost:  # our own lease keeper stopped us: a normal end, not arq's business
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            await forget_if_deleted(res, media)
            return "stopped: no longer ours"
        # Aborted by the API (cancel/delete: the writes below are fenced off), or the worker is
        # shutting down or the job timed out: then hand the item back now, not after the lease.
        await attempt.hand_back()
        await forget_if_deleted(res, media)
        raise
    except Exception as exc:  # a bug of ours: retrying would fail the same way, so end it now
        log.exception("media %s attempt %s: unexpected error", media_id, attempt_number)
        reason = f"Processing stopped on an unexpected error ({type(exc).__name__}); it is logged."
        await attempt.fail("internal_error", reason)
        return "failed: internal_error"
    finally:
        lease.cancel()
        shutil.rmtree(workdir, ignore_errors=True)


async def forget_if_deleted(res: WorkerResources, media: m.Media) -> None:
    """The item was deleted while we worked: remove anything we uploaded after the API's cleanup."""
    try:
        async with res.sessions() as db:
            if await db.get(m.Media, media.id) is None:
                await res.storage.delete_prefix(f"media/{media.id}/")
    except Exception as exc:
        log.warning("cleanup after deleted media %s failed: %s", media.id, exc)


async def sweep_leases(ctx: dict[str, Any]) -> dict[str, int]:
    """Requeue items whose worker died (lease expired); re-enqueue queued items whose job is gone.

    Leases are set and compared in the database's clock, so workers' clocks may disagree.
    """
    res: WorkerResources = ctx["res"]
    requeued = reenqueued = 0
    async with res.sessions() as db:
        now = await db.scalar(select(func.now()))
        expired = (
            await db.scalars(
                select(m.Media)
                .where(m.Media.status == MediaStatus.PROCESSING, m.Media.lease_expires_at < now)
                .with_for_update(skip_locked=True)
            )
        ).all()
        records = []
        for media in expired:
            fence = {"attempt": media.attempt, "status": MediaStatus.PROCESSING}
            if media.attempt >= res.settings.max_attempts:
                records.append(
                    await events.record(
                        db,
                        media.id,
                        "failed",
                        expect=fence,
                        status=MediaStatus.FAILED,
                        stage=None,
                        eta_seconds=None,
                        lease_expires_at=None,
                        error_code="worker_lost",
                        error_message=(
                            f"The worker processing this item stopped responding "
                            f"{media.attempt} times."
                        ),
                    )
                )
                continue
            nxt = media.attempt + 1
            records.append(
                await events.record(
                    db,
                    media.id,
                    "status",
                    expect=fence,
                    status=MediaStatus.QUEUED,
                    attempt=nxt,
                    job_id=jobs.transcode_job_id(media.id, nxt),
                    queued_at=now,
                    progress=0.0,
                    stage=None,
                    eta_seconds=None,
                    lease_expires_at=None,
                )
            )
            requeued += 1
        await db.commit()
    for record in records:
        if record is not None and record.data["status"] == MediaStatus.QUEUED:
            await jobs.enqueue_transcode(res.redis, record.media_id, record.data["attempts"])
        await events.publish(res.redis, record)

    async with res.sessions() as db:
        queued = (
            await db.scalars(
                select(m.Media).where(
                    m.Media.status == MediaStatus.QUEUED, m.Media.queued_at < now - QUEUED_GRACE
                )
            )
        ).all()
    for media in queued:
        job_id = jobs.transcode_job_id(media.id, media.attempt)
        status = await Job(job_id, res.redis).status()
        if status == JobStatus.complete:
            # The job ended while its item is still queued: it failed before it could claim the
            # item (e.g. the database was unreachable). Its kept result would make the id look
            # taken for an hour, so drop the result and run the same attempt again.
            await res.redis.delete(result_key_prefix + job_id)
            status = JobStatus.not_found
        if status == JobStatus.not_found:
            await jobs.enqueue_transcode(res.redis, media.id, media.attempt)
            reenqueued += 1
    if requeued or reenqueued:
        log.info(
            "sweep: requeued %d items of dead workers, re-enqueued %d lost jobs",
            requeued,
            reenqueued,
        )
    return {"requeued": requeued, "reenqueued": reenqueued}


async def purge(ctx: dict[str, Any], media_id: str) -> int:
    """Delete what is stored under a deleted item's prefix (see jobs.schedule_purge)."""
    res: WorkerResources = ctx["res"]
    async with res.sessions() as db:
        if await db.get(m.Media, uuid.UUID(media_id)) is not None:
            return 0  # not deleted after all: never touch a live item's objects
    return await res.storage.delete_prefix(f"media/{media_id}/")


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
        # Cancel first, fenced on the status: an upload completed meanwhile is left alone, and
        # once canceled no `complete` can queue an item whose source is being deleted.
        async with res.sessions() as db:
            record = await events.record(
                db,
                media.id,
                "canceled",
                expect={"status": MediaStatus.AWAITING_UPLOAD},
                status=MediaStatus.CANCELED,
                upload_id=None,
                error_code="upload_expired",
                error_message=(
                    f"The upload was not completed within {res.settings.stale_upload_hours} h."
                ),
            )
            await db.commit()
        if record is None:
            continue
        if media.upload_id:
            await res.storage.abort_multipart(media.source_key, media.upload_id)
        await res.storage.delete_prefix(f"media/{media.id}/")
        await events.publish_best_effort(res.redis, record)
        expired += 1
    await abort_orphaned_uploads(res, cutoff)
    return expired


async def abort_orphaned_uploads(res: WorkerResources, cutoff: datetime) -> None:
    """Abort multipart uploads no item will complete (an API that died mid-upload, an abort that
    failed). No upload may stay open past the cutoff: items older than it were just canceled, so
    any upload older than it is dead, whether an item knows of it or not."""
    orphans = [
        upload
        for upload in await res.storage.open_multipart_uploads("media/")
        if upload.initiated < cutoff
    ]
    for upload in orphans:
        await res.storage.abort_multipart(upload.key, upload.upload_id)
    if orphans:
        log.info("aborted %d multipart uploads no item owns", len(orphans))

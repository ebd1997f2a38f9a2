"""The rules of a queued item's life in the API: queue, cancel, retry, delete.

Functions flush; the endpoint owns the transaction and sends jobs and events after commit.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from arq import ArqRedis
from arq.jobs import Job
from reelay_core import events, jobs, lifecycle
from reelay_core.db import models as m
from reelay_core.db.models import MediaStatus
from reelay_core.events import MediaEventRecord
from reelay_core.jobs import transcode_job_id
from reelay_core.settings import Settings
from reelay_core.storage import Storage
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_api.problems import Problem

log = logging.getLogger(__name__)
# Redis calls after a commit are best effort; while Redis is down its client retries for half
# a minute, which a request should not wait out.
REDIS_TIMEOUT = 2.0

# How long DELETE waits for a running job to stop before deleting its objects, so that a worker
# still uploading outputs does not leave some behind.
ABORT_WAIT_SECONDS = 5.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def media_prefix(media: m.Media) -> str:
    """Everything of one item lives under this prefix, so DELETE is one prefix."""
    return f"media/{media.id}/"


async def queue(db: AsyncSession, media: m.Media, *, attempt: int) -> MediaEventRecord | None:
    lifecycle.check_transition(media.status, MediaStatus.QUEUED)
    record = await events.record(
        db,
        media.id,
        "status",
        status=MediaStatus.QUEUED,
        attempt=attempt,
        job_id=transcode_job_id(media.id, attempt),
        queued_at=utcnow(),
        upload_id=media.upload_id,
        progress=0.0,
        stage=None,
        eta_seconds=None,
        error_code=None,
        error_message=None,
        lease_expires_at=None,
        completed_at=None,
    )
    await db.refresh(media)
    return record


# -- job control ---------------------------------------------------------------------------------


async def cancel(db: AsyncSession, storage: Storage, media: m.Media) -> MediaEventRecord | None:
    if MediaStatus(media.status).is_terminal:
        raise Problem(409, f"This item is already {media.status}.", code="already_terminal")
    return await stop(db, storage, media)


async def stop(db: AsyncSession, storage: Storage, media: m.Media) -> MediaEventRecord | None:
    """Mark the item canceled now; the worker's fenced writes then fail and its attempt ends."""
    if MediaStatus(media.status).is_terminal:
        return None
    if media.upload_id:  # parts of an unfinished upload are useless once canceled
        await storage.abort_multipart(media.source_key, media.upload_id)
    record = await events.record(
        db,
        media.id,
        "canceled",
        status=MediaStatus.CANCELED,
        eta_seconds=None,
        lease_expires_at=None,
        upload_id=None,
    )
    await db.refresh(media)
    return record


async def retry(db: AsyncSession, media: m.Media) -> MediaEventRecord | None:
    if media.status not in (MediaStatus.FAILED, MediaStatus.CANCELED):
        raise Problem(
            409,
            f"Only failed or canceled items can be retried; this one is {media.status}.",
            code="wrong_state",
        )
    if media.attempt == 0:
        raise Problem(
            409,
            "This item was canceled before its upload completed; upload the file again.",
            code="never_uploaded",
        )
    return await queue(db, media, attempt=media.attempt + 1)


async def abort_job(redis: ArqRedis, job_id: str | None, *, wait: float = 0.1) -> None:
    """Ask arq to abort the job, waiting up to `wait` s for it to stop.

    Best effort: the item's status is already committed, and the worker's fenced writes stop
    an attempt that misses the abort.
    """
    if not job_id:
        return
    try:
        await asyncio.wait_for(
            Job(job_id, redis).abort(timeout=wait, poll_delay=0.05), wait + REDIS_TIMEOUT
        )
    except TimeoutError:
        pass
    except Exception as exc:
        log.warning("could not abort job %s: %s", job_id, exc)


async def enqueue(redis: ArqRedis, media: m.Media) -> None:
    """Enqueue the committed item's job. If Redis fails, the item is still queued in Postgres
    and the worker's lease sweeper enqueues it once the queue answers again."""
    try:
        await asyncio.wait_for(
            jobs.enqueue_transcode(redis, media.id, media.attempt), REDIS_TIMEOUT
        )
    except Exception as exc:
        log.warning("could not enqueue %s (the sweeper will): %s", media.id, exc)


async def announce(redis: ArqRedis, record: MediaEventRecord | None) -> None:
    """Publish a committed event; if Redis fails, SSE clients still replay it from Postgres."""
    await events.publish_best_effort(redis, record)


async def schedule_purge(redis: ArqRedis, settings: Settings, media: m.Media) -> None:
    """Purge the prefix again once every upload URL given out for the item has expired."""
    try:
        await asyncio.wait_for(
            jobs.schedule_purge(redis, media.id, defer_by=settings.presign_ttl_seconds + 60),
            REDIS_TIMEOUT,
        )
    except Exception as exc:
        log.warning("could not schedule the purge of deleted %s: %s", media.id, exc)


async def delete(db: AsyncSession, storage: Storage, media: m.Media) -> None:
    """Delete every stored object of the item, then its rows (events cascade)."""
    await storage.delete_prefix(media_prefix(media))
    await db.delete(media)
    await db.flush()

"""Job names, the arq connection, and idempotent enqueueing.

The job id carries the attempt, so enqueueing twice is a no-op.
"""

from __future__ import annotations

import uuid

from arq import ArqRedis
from arq.connections import RedisSettings
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

TRANSCODE = "media.transcode"
SWEEP_LEASES = "media.sweep_leases"
ABORT_STALE_UPLOADS = "media.abort_stale_uploads"
PURGE = "media.purge"


def redis_settings(url: str) -> RedisSettings:
    """arq's connection, retrying through a Redis restart instead of exiting on the first error."""
    settings = RedisSettings.from_dsn(url)
    settings.retry_on_error = [RedisConnectionError, RedisTimeoutError, OSError]
    settings.retry = Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=30)
    return settings


def transcode_job_id(media_id: uuid.UUID | str, attempt: int) -> str:
    return f"transcode:{media_id}:{attempt}"


async def enqueue_transcode(
    redis: ArqRedis,
    media_id: uuid.UUID | str,
    attempt: int,
    *,
    defer_by: float | None = None,
    request_id: str | None = None,
) -> None:
    """`request_id` is the API request that queued it, so the job's log lines carry it too."""
    # arq returns None when a job with this id exists or its result is kept: already queued.
    await redis.enqueue_job(
        TRANSCODE,
        str(media_id),
        attempt,
        request_id=request_id,
        _job_id=transcode_job_id(media_id, attempt),
        _defer_by=defer_by,
    )


async def schedule_purge(redis: ArqRedis, media_id: uuid.UUID | str, *, defer_by: float) -> None:
    """Delete the objects of a deleted item once more, after its upload URLs have expired:
    a presigned POST stays usable after DELETE and could otherwise leave an orphan behind."""
    await redis.enqueue_job(PURGE, str(media_id), _job_id=f"purge:{media_id}", _defer_by=defer_by)

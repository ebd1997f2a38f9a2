"""Job names and idempotent enqueueing: the job id carries the attempt, so enqueueing twice is a no-op."""

from __future__ import annotations

import uuid

from arq import ArqRedis

TRANSCODE = "media.transcode"
SWEEP_LEASES = "media.sweep_leases"
ABORT_STALE_UPLOADS = "media.abort_stale_uploads"


def transcode_job_id(media_id: uuid.UUID | str, attempt: int) -> str:
    return f"transcode:{media_id}:{attempt}"


async def enqueue_transcode(
    redis: ArqRedis, media_id: uuid.UUID | str, attempt: int, *, defer_by: float | None = None
) -> str:
    job_id = transcode_job_id(media_id, attempt)
    # arq returns None when a job with this id exists or its result is kept: already queued.
    await redis.enqueue_job(
        TRANSCODE, str(media_id), attempt, _job_id=job_id, _defer_by=defer_by
    )
    return job_id

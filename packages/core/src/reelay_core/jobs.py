"""Job names, the arq connection and job encoding, and idempotent enqueueing.

The job id carries the attempt, so enqueueing twice is a no-op. Jobs and results are JSON, never
pickle: whoever can write to Redis must not be able to run code in the worker. Enqueueing a
transcode or asking for an abort also wakes the workers (`wake_workers`), which otherwise only
look at the queue every `worker_poll_seconds`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, TypedDict

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from arq.constants import abort_jobs_ss, default_queue_name
from arq.jobs import Deserializer, Job, Serializer
from arq.utils import timestamp_ms
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


class JobError(Exception):
    """An exception a job ended with, read back from its JSON result as its type and text."""


def encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, default=_encode_exception).encode()


def decode(raw: bytes) -> dict[str, Any]:
    """Anything that is not our JSON (a pickle, say) raises: arq then fails the job unrun."""
    decoded: dict[str, Any] = json.loads(raw, object_hook=_decode_exception)
    return decoded


def _encode_exception(value: object) -> dict[str, str]:
    # A failed job's result is the exception it raised (CancelledError when it was aborted).
    if isinstance(value, BaseException):
        return {"__exception__": type(value).__name__, "message": str(value)}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _decode_exception(obj: dict[str, Any]) -> object:
    if obj.keys() != {"__exception__", "message"}:
        return obj
    # arq's Job.abort() recognises an aborted job by this exact type.
    if obj["__exception__"] == "CancelledError":
        return asyncio.CancelledError(obj["message"])
    return JobError(f"{obj['__exception__']}: {obj['message']}")


class Serialization(TypedDict):
    job_serializer: Serializer
    job_deserializer: Deserializer


# For every arq pool and worker: one that pickled would run what the other sends.
SERIALIZATION = Serialization(job_serializer=encode, job_deserializer=decode)


async def connect(url: str, *, queue_name: str = default_queue_name) -> ArqRedis:
    """An arq pool that encodes jobs as JSON."""
    return await create_pool(redis_settings(url), default_queue_name=queue_name, **SERIALIZATION)


def handle(redis: ArqRedis, job_id: str) -> Job:
    """arq's handle on one job of the pool's queue, reading its result as the pool encodes it."""
    return Job(
        job_id, redis, _queue_name=redis.default_queue_name, _deserializer=redis.job_deserializer
    )


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
    job = await redis.enqueue_job(
        TRANSCODE,
        str(media_id),
        attempt,
        request_id=request_id,
        _job_id=transcode_job_id(media_id, attempt),
        _defer_by=defer_by,
    )
    if job is not None:
        await wake_workers(redis)


def wake_channel(queue_name: str) -> str:
    return f"{queue_name}:wake"


async def wake_workers(redis: ArqRedis) -> None:
    """Make the idle workers of the pool's queue read it now (a deferred job: its due time)."""
    await redis.publish(wake_channel(redis.default_queue_name), b"")


async def abort(redis: ArqRedis, job_id: str, *, wait: float) -> None:
    """Ask arq to abort the job and wait up to `wait` s for it to stop (TimeoutError)."""
    # arq's abort() adds the job to this set and then only waits; the worker running the job
    # reads the set when it wakes, so wake it after the job is in the set.
    await redis.zadd(abort_jobs_ss, {job_id: timestamp_ms()})
    await wake_workers(redis)
    await handle(redis, job_id).abort(timeout=wait, poll_delay=0.05)


async def schedule_purge(redis: ArqRedis, media_id: uuid.UUID | str, *, defer_by: float) -> None:
    """Delete the objects of a deleted item once more, after its upload URLs have expired:
    a presigned POST stays usable after DELETE and could otherwise leave an orphan behind."""
    await redis.enqueue_job(PURGE, str(media_id), _job_id=f"purge:{media_id}", _defer_by=defer_by)

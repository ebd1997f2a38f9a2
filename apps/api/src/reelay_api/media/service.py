"""The rules of a media item's life in the API: create, complete, cancel, retry, delete, find.

Services flush; the endpoint owns the transaction and sends jobs and events after commit.
"""

from __future__ import annotations

import base64
import contextlib
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import ArqRedis
from arq.jobs import Job
from reelay_core import events, lifecycle
from reelay_core.db import models as m
from reelay_core.db.models import MediaKind, MediaStatus
from reelay_core.events import MediaEventRecord
from reelay_core.jobs import transcode_job_id
from reelay_core.settings import Settings
from reelay_core.storage import Storage
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_api.media.formats import extension_of, rejection
from reelay_api.media.schemas import CompletedPart
from reelay_api.problems import Problem, not_found

MIN_PART = 5 * 1024 * 1024  # S3's smallest part (all but the last)
MAX_PARTS = 10_000


def utcnow() -> datetime:
    return datetime.now(UTC)


async def get_owned(db: AsyncSession, media_id: uuid.UUID, owner_id: uuid.UUID, kind: MediaKind) -> m.Media:
    """The caller's media item; anyone else's is answered exactly like a missing one."""
    media = await db.scalar(
        select(m.Media).where(m.Media.id == media_id, m.Media.owner_id == owner_id, m.Media.kind == kind)
    )
    if media is None:
        raise not_found(kind.value)
    return media


# -- create ------------------------------------------------------------------------------------


def part_size_for(size: int, preferred: int) -> int:
    return max(preferred, MIN_PART, math.ceil(size / MAX_PARTS))


async def create(
    db: AsyncSession, storage: Storage, settings: Settings, *, owner_id: uuid.UUID, kind: MediaKind,
    filename: str, content_type: str, size: int,
) -> tuple[m.Media, dict[str, Any], MediaEventRecord | None]:
    if reason := rejection(kind, filename, content_type):
        raise Problem(415, reason, code="unsupported_media_type")
    if size > settings.max_upload_bytes:
        raise Problem(
            413,
            f"The file is {size} bytes; the limit is {settings.max_upload_bytes} bytes.",
            code="too_large",
        )
    media_id = uuid.uuid4()
    media = m.Media(
        id=media_id, owner_id=owner_id, kind=kind, filename=filename,
        content_type=content_type.split(";")[0].strip().lower(), size=size,
        status=MediaStatus.AWAITING_UPLOAD, progress=0.0, attempt=0, outputs=[], last_event_seq=0,
        source_key=f"media/{media_id}/source{extension_of(filename)}",
        output_prefix=f"media/{media_id}/out/",
    )
    expires_at = utcnow() + timedelta(seconds=settings.presign_ttl_seconds)
    if size > settings.multipart_threshold_bytes:
        part_size = part_size_for(size, settings.multipart_part_bytes)
        media.upload_id = await storage.create_multipart(media.source_key, content_type=media.content_type)
        parts = await presign_parts(storage, settings, media, part_size, range(1, math.ceil(size / part_size) + 1))
        upload = {"method": "multipart", "upload_id": media.upload_id, "part_size": part_size,
                  "parts": parts, "expires_at": expires_at.isoformat()}
    else:
        post = await storage.presign_post(
            media.source_key, content_type=media.content_type, max_size=size,
            expires=settings.presign_ttl_seconds,
        )
        upload = {"method": "POST", "url": post["url"], "fields": post["fields"],
                  "expires_at": expires_at.isoformat()}
    db.add(media)
    await db.flush()
    record = await events.record(db, media.id, "status")
    await db.refresh(media)
    return media, upload, record


async def presign_parts(
    storage: Storage, settings: Settings, media: m.Media, part_size: int, numbers: Any
) -> list[dict[str, Any]]:
    assert media.upload_id
    return [
        {"part_number": n, "url": await storage.presign_part(media.source_key, media.upload_id, n, settings.presign_ttl_seconds)}
        for n in numbers
    ]


async def resume_parts(storage: Storage, settings: Settings, media: m.Media) -> dict[str, Any]:
    if media.status != MediaStatus.AWAITING_UPLOAD or not media.upload_id:
        raise Problem(409, "This media item has no multipart upload in progress.", code="not_multipart")
    stored = await storage.list_parts(media.source_key, media.upload_id)
    part_size = part_size_for(media.size, settings.multipart_part_bytes)
    total = math.ceil(media.size / part_size)
    done = {p.part_number for p in stored}
    missing = [n for n in range(1, total + 1) if n not in done]
    return {
        "method": "multipart", "upload_id": media.upload_id, "part_size": part_size,
        "parts": await presign_parts(storage, settings, media, part_size, missing),
        "stored_parts": [{"part_number": p.part_number, "etag": p.etag, "size": p.size} for p in stored],
        "expires_at": (utcnow() + timedelta(seconds=settings.presign_ttl_seconds)).isoformat(),
    }


# -- complete ------------------------------------------------------------------------------------


async def complete(
    db: AsyncSession, storage: Storage, media: m.Media, parts: list[CompletedPart] | None
) -> MediaEventRecord | None:
    """Check the stored upload and queue the item; None when it was queued already."""
    if media.status != MediaStatus.AWAITING_UPLOAD:
        if media.job_id and media.status != MediaStatus.CANCELED:
            return None  # idempotent: the same job answers again
        raise Problem(409, f"This media item is {media.status}; only an awaiting upload can be completed.", code="wrong_state")
    if media.upload_id:
        if not parts:
            raise Problem(422, "This is a multipart upload: send the stored parts with their ETags.", code="parts_required")
        try:
            await storage.complete_multipart(
                media.source_key, media.upload_id, sorted((p.part_number, p.etag) for p in parts)
            )
        except Exception as exc:  # botocore ClientError: wrong/missing parts or ETags
            raise Problem(422, f"Storage refused to assemble the parts: {exc}", code="bad_parts") from exc
        media.upload_id = None
    stored = await storage.object_size(media.source_key)
    if stored is None:
        raise Problem(409, "No uploaded file was found; upload it first, then complete.", code="upload_missing")
    if stored != media.size:
        raise Problem(422, f"The uploaded file has {stored} bytes, but {media.size} were declared.", code="size_mismatch")
    return await queue(db, media, attempt=1)


async def queue(db: AsyncSession, media: m.Media, *, attempt: int) -> MediaEventRecord | None:
    lifecycle.check_transition(media.status, MediaStatus.QUEUED)
    record = await events.record(
        db, media.id, "status", status=MediaStatus.QUEUED, attempt=attempt,
        job_id=transcode_job_id(media.id, attempt), queued_at=utcnow(), upload_id=media.upload_id,
        progress=0.0, stage=None, eta_seconds=None, error_code=None, error_message=None,
        lease_expires_at=None, completed_at=None,
    )
    await db.refresh(media)
    return record


# -- job control ---------------------------------------------------------------------------------


async def cancel(db: AsyncSession, media: m.Media) -> MediaEventRecord | None:
    if MediaStatus(media.status).is_terminal:
        raise Problem(409, f"This media item is already {media.status}.", code="already_terminal")
    record = await events.record(
        db, media.id, "canceled", status=MediaStatus.CANCELED, eta_seconds=None,
        lease_expires_at=None,
    )
    await db.refresh(media)
    return record


async def retry(db: AsyncSession, media: m.Media) -> MediaEventRecord | None:
    if media.status not in (MediaStatus.FAILED, MediaStatus.CANCELED) or media.attempt == 0:
        raise Problem(409, f"Only failed or canceled media can be retried; this one is {media.status}.", code="wrong_state")
    return await queue(db, media, attempt=media.attempt + 1)


async def abort_job(redis: ArqRedis, job_id: str | None) -> None:
    """Ask arq to abort the job; the worker also re-reads the status, so this is best effort."""
    if not job_id:
        return
    with contextlib.suppress(TimeoutError):
        await Job(job_id, redis).abort(timeout=0.1, poll_delay=0.05)


async def delete(db: AsyncSession, storage: Storage, redis: ArqRedis, media: m.Media) -> None:
    await abort_job(redis, media.job_id)
    if media.upload_id:
        await storage.abort_multipart(media.source_key, media.upload_id)
    await storage.delete_prefix(f"media/{media.id}/")
    await db.delete(media)
    await db.flush()


# -- reading -------------------------------------------------------------------------------------


async def queue_position(db: AsyncSession, media: m.Media) -> int | None:
    if media.status != MediaStatus.QUEUED or media.queued_at is None:
        return None
    ahead = await db.scalar(
        select(func.count()).select_from(m.Media).where(
            m.Media.status == MediaStatus.QUEUED, m.Media.queued_at < media.queued_at
        )
    )
    return int(ahead or 0)


@dataclass(frozen=True)
class Page:
    items: list[m.Media]
    next_cursor: str | None


def encode_cursor(media: m.Media) -> str:
    raw = f"{media.created_at.isoformat()}|{media.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, media_id = raw.split("|", 1)
        return datetime.fromisoformat(created), uuid.UUID(media_id)
    except ValueError as exc:
        raise Problem(422, "The cursor is not one this API gave out.", code="bad_cursor") from exc


async def list_page(
    db: AsyncSession, owner_id: uuid.UUID, kind: MediaKind, *, status: MediaStatus | None,
    limit: int, cursor: str | None,
) -> Page:
    query = select(m.Media).where(m.Media.owner_id == owner_id, m.Media.kind == kind)
    if status is not None:
        query = query.where(m.Media.status == status)
    if cursor:
        created, media_id = decode_cursor(cursor)
        query = query.where(
            or_(m.Media.created_at < created, and_(m.Media.created_at == created, m.Media.id < media_id))
        )
    rows = list(
        (await db.scalars(query.order_by(m.Media.created_at.desc(), m.Media.id.desc()).limit(limit + 1))).all()
    )
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items, encode_cursor(items[-1]) if more and items else None)

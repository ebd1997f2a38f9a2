"""Getting a source into storage: presigned POST or multipart instructions, resuming, and the
checks of POST .../complete before an item is queued.

Functions flush; the request's session commits, then the recorded effects (publish the event,
enqueue the job) run.
"""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError
from reelay_core import effects
from reelay_core.db import models as m
from reelay_core.db.models import MediaKind, MediaStatus
from reelay_core.db.models.base import utcnow
from reelay_core.media import keys, transitions
from reelay_core.settings import Settings
from reelay_core.storage import Storage, UploadNotFound
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_api.media import quotas
from reelay_api.media.formats import extension_of, rejection
from reelay_api.media.schemas import (
    CompletedPart,
    MultipartUpload,
    PartUrl,
    PresignedPost,
    ResumeParts,
    StoredPartOut,
)
from reelay_api.problems import Problem
from reelay_api.resources import Resources

MIN_PART = 5 * 1024 * 1024  # S3's smallest part (all but the last)
MAX_PARTS = 10_000


# -- create ------------------------------------------------------------------------------------


def check_type(kind: MediaKind, filename: str, content_type: str) -> None:
    if reason := rejection(kind, filename, content_type):
        raise Problem(415, reason, code="unsupported_media_type")


def too_large(size: int | None, settings: Settings) -> Problem:
    what = f"The file is {size} bytes" if size is not None else "The file is too large"
    return Problem(
        413, f"{what}; the limit is {settings.max_upload_bytes} bytes.", code="too_large"
    )


async def check_quota_before_upload(
    resources: Resources, owner_id: uuid.UUID, content_length: int | None
) -> None:
    """Refuse an upload through the API over quota before any of it is stored.

    In a session of its own, not locking: the request's would stay open for the whole upload.
    The body's length bounds the file's size.
    """
    async with resources.sessions() as db:
        await quotas.check(
            db,
            resources.settings,
            owner_id,
            new_items=1,
            new_bytes=content_length or 0,
            lock=False,
        )


async def check_quota_after_upload(
    db: AsyncSession, storage: Storage, settings: Settings, media: m.Media
) -> None:
    """The locked check once an upload through the API is stored; a refusal deletes the file,
    which no row would otherwise lead a sweep to."""
    try:
        await quotas.check(db, settings, media.owner_id, new_items=1, new_bytes=media.size)
    except Problem:
        await storage.delete_prefix(keys.item_prefix(media.id))
        raise


def part_size_for(size: int, preferred: int) -> int:
    """The preferred part size, grown when a huge file would need more than S3's 10,000 parts."""
    return max(preferred, MIN_PART, math.ceil(size / MAX_PARTS))


def new_media(
    *,
    owner_id: uuid.UUID,
    kind: MediaKind,
    filename: str,
    content_type: str,
    size: int,
    media_id: uuid.UUID | None = None,
    external_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> m.Media:
    media_id = media_id or uuid.uuid4()
    return m.Media(
        external_id=external_id,
        client_metadata=metadata or {},
        id=media_id,
        owner_id=owner_id,
        kind=kind,
        filename=filename,
        content_type=content_type.split(";")[0].strip().lower(),
        size=size,
        progress=0.0,
        attempt=0,
        outputs=[],
        last_event_seq=0,
        source_key=source_key(media_id, filename),
        output_prefix=keys.output_prefix(media_id),
    )


def source_key(media_id: uuid.UUID, filename: str) -> str:
    return keys.source_key(media_id, extension_of(filename))


async def create(
    db: AsyncSession,
    storage: Storage,
    settings: Settings,
    *,
    owner_id: uuid.UUID,
    kind: MediaKind,
    filename: str,
    content_type: str,
    size: int,
    external_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    upload_ttl_seconds: int | None = None,
) -> tuple[m.Media, PresignedPost | MultipartUpload]:
    check_type(kind, filename, content_type)
    if size > settings.max_upload_bytes:
        raise too_large(size, settings)
    ttl = upload_ttl(settings, upload_ttl_seconds)
    await quotas.check(db, settings, owner_id, new_items=1, new_bytes=size)
    media = new_media(
        owner_id=owner_id,
        kind=kind,
        filename=filename,
        content_type=content_type,
        size=size,
        external_id=external_id,
        metadata=metadata,
    )
    expires_at = utcnow() + timedelta(seconds=ttl)
    upload: PresignedPost | MultipartUpload
    if size > settings.multipart_threshold_bytes:
        part_size = part_size_for(size, settings.multipart_part_bytes)
        media.upload_id = await storage.create_multipart(
            media.source_key, content_type=media.content_type
        )
        numbers = range(1, math.ceil(size / part_size) + 1)
        upload = MultipartUpload(
            upload_id=media.upload_id,
            part_size=part_size,
            expires_at=expires_at,
            parts=await presign_parts(storage, settings, media, numbers, ttl=ttl),
        )
    else:
        post = await storage.presign_post(
            media.source_key,
            content_type=media.content_type,
            max_size=size,
            expires=ttl,
        )
        upload = PresignedPost(url=post["url"], fields=post["fields"], expires_at=expires_at)
    await transitions.create(db, media)
    return media, upload


def upload_ttl(settings: Settings, requested: int | None) -> int:
    """The caller's lifetime for upload URLs, within the server's: a URL outliving the server's
    lifetime would outlive the clean-ups timed by it (a deleted item's last purge)."""
    if requested is None:
        return settings.presign_ttl_seconds
    if requested > settings.presign_ttl_seconds:
        raise Problem(
            422,
            f"upload_ttl_seconds is {requested}; this server gives upload URLs at most "
            f"{settings.presign_ttl_seconds} s.",
            code="upload_ttl_too_long",
        )
    return requested


async def presign_parts(
    storage: Storage,
    settings: Settings,
    media: m.Media,
    numbers: range | list[int],
    *,
    ttl: int | None = None,
) -> list[PartUrl]:
    assert media.upload_id
    part_size = part_size_for(media.size, settings.multipart_part_bytes)
    urls = []
    for n in numbers:
        size = min(part_size, media.size - (n - 1) * part_size)  # the last part is the rest
        url = await storage.presign_part(
            media.source_key,
            media.upload_id,
            n,
            size=size,
            expires=ttl or settings.presign_ttl_seconds,
        )
        urls.append(PartUrl(part_number=n, size=size, url=url))
    return urls


async def resume_parts(storage: Storage, settings: Settings, media: m.Media) -> ResumeParts:
    if media.status != MediaStatus.AWAITING_UPLOAD or not media.upload_id:
        raise Problem(
            409,
            f"This item has no multipart upload in progress (it is {media.status}).",
            code="not_multipart",
        )
    try:
        stored = await storage.list_parts(media.source_key, media.upload_id)
    except UploadNotFound:
        raise upload_expired() from None
    part_size = part_size_for(media.size, settings.multipart_part_bytes)
    done = {p.part_number for p in stored}
    missing = [n for n in range(1, math.ceil(media.size / part_size) + 1) if n not in done]
    return ResumeParts(
        upload_id=media.upload_id,
        part_size=part_size,
        parts=await presign_parts(storage, settings, media, missing),
        stored_parts=[
            StoredPartOut(part_number=p.part_number, etag=p.etag, size=p.size) for p in stored
        ],
        expires_at=utcnow() + timedelta(seconds=settings.presign_ttl_seconds),
    )


# -- complete ------------------------------------------------------------------------------------


def upload_expired() -> Problem:
    return Problem(
        409,
        "Storage no longer holds this multipart upload (it expired or was aborted); "
        "start a new upload with POST again.",
        code="upload_expired",
    )


async def complete(
    db: AsyncSession,
    storage: Storage,
    settings: Settings,
    media: m.Media,
    parts: list[CompletedPart] | None,
) -> None:
    """Check the stored upload and queue the item."""
    if media.status != MediaStatus.AWAITING_UPLOAD:
        if media.job_id and media.status != MediaStatus.CANCELED:
            # Idempotent: the same job answers again. Enqueued once more in case the first
            # enqueue was lost; the job id makes that a no-op otherwise.
            if media.status == MediaStatus.QUEUED:
                effects.enqueue_transcode(db, media.id, media.attempt)
            return
        raise Problem(
            409,
            f"This item is {media.status}; only an upload in progress can be completed.",
            code="wrong_state",
        )
    # The item's own bytes already count; this catches a limit lowered since it was created.
    await quotas.check(db, settings, media.owner_id, new_items=0, new_bytes=0)
    if media.upload_id:
        try:
            await assemble_parts(storage, media, parts)
        except UploadNotFound:
            # Assembled by an earlier call whose commit then failed: the object is the proof.
            if await storage.object_size(media.source_key) != media.size:
                raise upload_expired() from None
            media.upload_id = None
    stored = await storage.head(media.source_key)
    if stored is None:
        raise Problem(
            409,
            "No uploaded file was found: send the file to the upload URL first, then complete.",
            code="upload_missing",
        )
    if stored.size != media.size:
        raise Problem(
            422,
            f"The uploaded file has {stored.size} bytes, but {media.size} were declared.",
            code="size_mismatch",
        )
    # The presigned URL stays valid until it expires: the worker fetches only this object.
    media.source_etag = stored.etag
    await transitions.queue_attempt(db, media, attempt=1)


async def assemble_parts(
    storage: Storage, media: m.Media, parts: list[CompletedPart] | None
) -> None:
    """Check the named parts against what storage holds, then join them into the source."""
    assert media.upload_id
    if not parts:
        raise Problem(
            422,
            "This is a multipart upload: send `parts` with each part's number and ETag.",
            code="parts_required",
        )
    stored = {p.part_number: p for p in await storage.list_parts(media.source_key, media.upload_id)}
    chosen = sorted({p.part_number: p for p in parts}.values(), key=lambda p: p.part_number)
    for part in chosen:
        held = stored.get(part.part_number)
        if held is None:
            raise Problem(422, f"Part {part.part_number} was not uploaded.", code="part_missing")
        if held.etag != part.etag.strip('"'):
            raise Problem(
                422,
                f"Part {part.part_number} has ETag {held.etag}, not {part.etag}.",
                code="etag_mismatch",
            )
    # Checked before assembling: once joined, a short upload could not be resumed any more.
    total = sum(stored[p.part_number].size for p in chosen)
    if total != media.size:
        raise Problem(
            422,
            f"The parts hold {total} bytes, but {media.size} were declared; upload the rest "
            "(POST .../parts lists what is missing).",
            code="size_mismatch",
        )
    try:
        await storage.complete_multipart(
            media.source_key, media.upload_id, [(p.part_number, p.etag) for p in chosen]
        )
    except ClientError as exc:  # e.g. a part below S3's 5 MiB minimum
        raise Problem(
            422,
            f"Storage refused to join the parts: {exc.response['Error'].get('Message', exc)}",
            code="bad_parts",
        ) from exc
    media.upload_id = None

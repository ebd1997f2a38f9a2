"""Through-API uploads: a multipart/form-data body streamed into an S3 multipart upload.

The form is never held whole. python-multipart parses each chunk as it arrives and the file's
bytes are cut into parts that are stored one at a time; the next chunk is read only once the
current part is stored, so memory stays near one part whatever the file's size, and the size
limit is enforced on the bytes actually received. A part's buffer grows with the bytes that
arrive, so a client that sends little and stalls costs little, and a body that stays silent
past REELAY_UPLOAD_IDLE_TIMEOUT_SECONDS is answered 408. How many such uploads run at once is
capped per user (across API processes, in Redis) and per process.
"""

from __future__ import annotations

import asyncio
import email.message
import io
import logging
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartState, parse_options_header
from redis.asyncio import Redis
from reelay_core.db.models import MediaKind
from reelay_core.settings import Settings
from reelay_core.storage import Storage

from reelay_api.media import uploads
from reelay_api.media.form_fields import FieldCollector, FormFields
from reelay_api.media.formats import FILENAME_PATTERN, FILENAME_RULE, usual_type
from reelay_api.problems import Problem

log = logging.getLogger(__name__)

FILE_FIELD = "file"
# Room for part headers and small fields beside the file before the body counts as too large.
FORM_OVERHEAD = 1024 * 1024
UNDECLARED_TYPES = {"", "application/octet-stream"}
MAX_FILENAME = 255  # the column's width, as POST /videos checks it
# Seconds to suggest before another try when a cap on concurrent uploads is reached.
RETRY_AFTER_SECONDS = 10


@dataclass(frozen=True)
class PartStart:
    headers: dict[str, bytes]  # raw: a filename is UTF-8 bytes, which no header codec knows


class PartEnd:
    pass


FormEvent = PartStart | bytes | PartEnd


class FormEvents:
    """python-multipart's callbacks collected as events, drained after each chunk is fed."""

    def __init__(self, boundary: bytes) -> None:
        self._events: list[FormEvent] = []
        self._headers: dict[str, bytes] = {}
        self._name = bytearray()
        self._value = bytearray()
        self.parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._headers.clear,
                "on_header_field": lambda data, start, end: self._name.extend(data[start:end]),
                "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
                "on_header_end": self._header_end,
                "on_headers_finished": lambda: self._events.append(PartStart(dict(self._headers))),
                "on_part_data": lambda data, start, end: self._events.append(data[start:end]),
                "on_part_end": lambda: self._events.append(PartEnd()),
            },
        )

    def _header_end(self) -> None:
        self._headers[self._name.decode("latin-1").lower()] = bytes(self._value)
        self._name.clear()
        self._value.clear()

    def feed(self, chunk: bytes) -> list[FormEvent]:
        try:
            self.parser.write(chunk)
        except MultipartParseError as exc:
            raise Problem(400, f"The multipart body is malformed: {exc}", code="bad_form") from exc
        events, self._events = self._events, []
        return events

    def finish(self) -> None:
        self.parser.finalize()
        if self.parser.state != MultipartState.END:
            raise Problem(
                400,
                "The multipart body ended before its closing boundary; the upload was cut off.",
                code="bad_form",
            )


class PartBody(io.RawIOBase):
    """A seekable read-only file over a memoryview, so a part is sent without being copied."""

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self._view = view
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        n = max(0, min(len(target), len(self._view) - self._pos))
        target[:n] = self._view[self._pos : self._pos + n]
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


class SourceUpload:
    """The file's bytes cut into parts of `part_size` and stored as one S3 multipart upload.

    One buffer is filled up to a part's size and sent again and again: the upload holds no more
    than that, whatever the file's size. It grows only as bytes arrive, so a client that stalls
    after a few kilobytes holds a few kilobytes.
    """

    def __init__(
        self, storage: Storage, key: str, filename: str, content_type: str, settings: Settings
    ) -> None:
        self.storage = storage
        self.key = key
        self.filename = filename
        self.content_type = content_type
        self.settings = settings
        self.part_size = uploads.part_size_for(
            settings.max_upload_bytes, settings.multipart_part_bytes
        )
        self.upload_id: str | None = None
        self.buffer = bytearray()
        self.parts: list[tuple[int, str]] = []
        self.size = 0

    async def start(self) -> None:
        self.upload_id = await self.storage.create_multipart(
            self.key, content_type=self.content_type
        )

    async def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.settings.max_upload_bytes:
            raise uploads.too_large(None, self.settings)
        rest = memoryview(data)
        while rest:
            taken = rest[: self.part_size - len(self.buffer)]
            self.buffer += taken
            rest = rest[len(taken) :]
            if len(self.buffer) == self.part_size:
                await self._store_part()

    async def _store_part(self) -> None:
        assert self.upload_id
        number = len(self.parts) + 1
        with memoryview(self.buffer) as view:
            etag = await self.storage.upload_part(self.key, self.upload_id, number, PartBody(view))
        self.parts.append((number, etag))
        self.buffer.clear()

    async def finish(self) -> None:
        assert self.upload_id
        if self.size == 0:
            raise Problem(422, "The file is empty.", code="empty_file")
        if self.buffer:
            await self._store_part()
        await self.storage.complete_multipart(self.key, self.upload_id, self.parts)

    async def abort(self) -> None:
        if self.upload_id is None:
            return
        try:
            await self.storage.abort_multipart(self.key, self.upload_id)
        except Exception:  # the original error matters more; the stale-upload sweep retries
            log.exception("could not abort the multipart upload of %s", self.key)


class UploadSlots:
    """Who may start an upload through the API now: at most `per_process` in this process and
    `per_user` of one user in all processes.

    A user's uploads are members of a sorted set in Redis scored by when their lease ends; an
    upload renews its lease while bytes arrive, so the slots of an API process that died free
    themselves once their leases run out.
    """

    # Uploads in flight in this process (a process is the unit of this cap).
    in_process = 0

    def __init__(self, redis: Redis, settings: Settings, owner_id: uuid.UUID) -> None:
        self.redis = redis
        self.key = f"reelay:uploads:{owner_id}"
        self.member = secrets.token_hex(8)
        self.per_user = settings.max_uploads_per_user
        self.per_process = settings.max_uploads_per_process
        # Bytes arrive at least every idle timeout; storing a part can take a while longer.
        self.lease = max(60.0, 4 * settings.upload_idle_timeout_seconds)
        self.renewed = 0.0

    async def __aenter__(self) -> UploadSlots:
        if UploadSlots.in_process >= self.per_process:
            raise Problem(
                503,
                "This server is receiving as many uploads as it takes; try again shortly.",
                code="server_busy",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        UploadSlots.in_process += 1
        try:
            await self._take_user_slot()
        except BaseException:
            UploadSlots.in_process -= 1
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        UploadSlots.in_process -= 1
        try:
            await self.redis.zrem(self.key, self.member)
        except Exception:  # Redis is away: the lease frees the slot
            log.warning("could not free upload slot %s of %s", self.member, self.key)

    async def _take_user_slot(self) -> None:
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self.key, "-inf", now)
            pipe.zadd(self.key, {self.member: now + self.lease})
            pipe.zcard(self.key)
            pipe.expire(self.key, int(self.lease) + 1)
            _, _, taken, _ = await pipe.execute()
        self.renewed = now
        if taken > self.per_user:
            await self.redis.zrem(self.key, self.member)
            raise Problem(
                429,
                f"You already have {self.per_user} uploads through the API in progress; wait for "
                "one to finish, or upload directly to storage (POST without /upload).",
                code="too_many_uploads",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )

    async def renew(self) -> None:
        """Extend this upload's lease, at most every third of it."""
        now = time.time()
        if now - self.renewed < self.lease / 3:
            return
        self.renewed = now
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self.key, {self.member: now + self.lease}, xx=True)
            pipe.expire(self.key, int(self.lease) + 1)
            await pipe.execute()


async def paced(
    chunks: AsyncIterator[bytes], idle_timeout: float, slots: UploadSlots
) -> AsyncIterator[bytes]:
    """`chunks`, refused with 408 once the client sends nothing for `idle_timeout` seconds."""
    iterator = aiter(chunks)
    while True:
        try:
            async with asyncio.timeout(idle_timeout):
                chunk = await anext(iterator)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise Problem(
                408,
                f"The upload sent nothing for {idle_timeout:g} seconds and was abandoned.",
                code="upload_idle",
            ) from None
        await slots.renew()
        yield chunk


def form_boundary(content_type: str | None) -> bytes:
    kind, params = parse_options_header(content_type or "")
    if kind != b"multipart/form-data":
        raise Problem(
            415,
            f"Send the file as multipart/form-data with the field `{FILE_FIELD}`.",
            code="unsupported_media_type",
        )
    if not params.get(b"boundary"):
        raise Problem(400, "The multipart/form-data content type has no boundary.", code="bad_form")
    return params[b"boundary"]


def describe_part(headers: dict[str, bytes]) -> tuple[str, str | None, str]:
    """A part's field name, filename (None for plain fields) and declared content type."""
    disposition = disposition_params(headers.get("content-disposition", b""))
    declared = parse_options_header(headers.get("content-type", b""))[0].decode("latin-1")
    return disposition.get("name", ""), disposition.get("filename"), declared


def disposition_params(header: bytes) -> dict[str, str]:
    """Content-Disposition's parameters as text.

    Browsers send a filename as raw UTF-8 between quotes (RFC 7578); some clients send
    RFC 5987's `filename*=UTF-8''...` instead or as well, which then wins (RFC 6266).
    """
    message = email.message.Message()
    # latin-1 maps each byte to one character, so the raw bytes come back out unchanged.
    message["content-disposition"] = header.decode("latin-1")
    # typeshed says str values; RFC 2231/5987 ones come as (charset, language, text).
    params = cast(
        "Sequence[tuple[str, str | tuple[str, str, str]]]",
        message.get_params([], header="content-disposition")[1:],
    )
    plain: dict[str, str] = {}
    extended: dict[str, str] = {}
    try:
        for key, value in params:
            if isinstance(value, tuple):
                charset, _, text = value
                extended[key] = text.encode("latin-1").decode(charset or "utf-8")
            else:
                plain[key] = value.encode("latin-1").decode("utf-8")
    except (UnicodeError, LookupError):
        raise Problem(
            400,
            "A form part's name or filename cannot be decoded; send it as UTF-8.",
            code="bad_form",
        ) from None
    return plain | extended


async def start_file(
    filename: str | None,
    declared: str,
    *,
    storage: Storage,
    settings: Settings,
    kind: MediaKind,
    media_id: uuid.UUID,
) -> SourceUpload:
    """Check the file part's name and type (as POST /videos does), then open its upload."""
    filename = (filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]  # some send paths
    if not filename:
        raise Problem(
            422, f"The `{FILE_FIELD}` field must be a file with a filename.", code="no_file"
        )
    if not re.fullmatch(FILENAME_PATTERN, filename):
        raise Problem(422, FILENAME_RULE, code="bad_filename")
    if len(filename) > MAX_FILENAME:
        raise Problem(
            422, f"The filename is longer than {MAX_FILENAME} characters.", code="bad_filename"
        )
    # curl and some libraries send application/octet-stream for any video: judge by extension.
    content_type = declared
    if declared in UNDECLARED_TYPES:
        content_type = usual_type(kind, filename) or declared
    uploads.check_type(kind, filename, content_type)
    upload = SourceUpload(
        storage, uploads.source_key(media_id, filename), filename, content_type, settings
    )
    await upload.start()
    return upload


async def receive_file(
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    content_length: int | None,
    *,
    storage: Storage,
    redis: Redis,
    settings: Settings,
    kind: MediaKind,
    media_id: uuid.UUID,
    owner_id: uuid.UUID,
) -> tuple[SourceUpload, FormFields]:
    """Store the form's `file` field as the source of `media_id`, with the `external_id` and
    `metadata` fields sent before it; other fields are ignored.

    Returns the finished upload (filename, content type, size, key) and those fields.
    """
    form = FormEvents(form_boundary(content_type))
    most = settings.max_upload_bytes + FORM_OVERHEAD
    if content_length is not None and content_length > most:
        raise uploads.too_large(None, settings)  # announced: refuse before storing anything
    async with UploadSlots(redis, settings, owner_id) as slots:
        return await store_form(
            form,
            paced(chunks, settings.upload_idle_timeout_seconds, slots),
            most,
            storage=storage,
            settings=settings,
            kind=kind,
            media_id=media_id,
        )


async def store_form(
    form: FormEvents,
    chunks: AsyncIterator[bytes],
    most: int,
    *,
    storage: Storage,
    settings: Settings,
    kind: MediaKind,
    media_id: uuid.UUID,
) -> tuple[SourceUpload, FormFields]:
    """Feed the body to the parser and the file's bytes to storage, up to `most` bytes."""
    upload: SourceUpload | None = None
    fields = FieldCollector()
    passed = FormFields()
    in_file = False
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > most:
                raise uploads.too_large(None, settings)
            for event in form.feed(chunk):
                if isinstance(event, PartStart):
                    name, filename, declared = describe_part(event.headers)
                    fields.start(name, after_file=upload is not None)
                    in_file = name == FILE_FIELD
                    if in_file and upload is not None:
                        raise Problem(422, "Send exactly one file per upload.", code="many_files")
                    if in_file:
                        passed = fields.parsed()
                        upload = await start_file(
                            filename,
                            declared,
                            storage=storage,
                            settings=settings,
                            kind=kind,
                            media_id=media_id,
                        )
                elif isinstance(event, PartEnd):
                    in_file = False
                elif in_file:
                    assert upload is not None
                    await upload.write(event)
                else:
                    fields.feed(event)
        form.finish()
        if upload is None:
            raise Problem(422, f"The form has no `{FILE_FIELD}` field.", code="no_file")
        await upload.finish()
    except BaseException:
        # Nothing of a refused or broken upload may stay in storage.
        if upload is not None:
            await upload.abort()
        raise
    return upload, passed

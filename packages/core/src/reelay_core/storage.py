"""Everything reelay asks of S3: presigned uploads and downloads, multipart, objects, prefixes.

Only this module talks to S3. Two clients share one session: `internal` for the API and worker,
`public` only to sign URLs for the endpoint clients reach (`REELAY_S3_PUBLIC_ENDPOINT_URL`).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import quote

import aioboto3
from aiobotocore.config import AioConfig
from botocore.exceptions import ClientError

from reelay_core.settings import Settings

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import ObjectIdentifierTypeDef

BOTO_CONFIG = AioConfig(
    signature_version="s3v4",
    s3={"addressing_style": "path"},
    retries={"max_attempts": 3, "mode": "standard"},
)


# How S3 and SeaweedFS answer a GET whose If-Match no longer holds.
_PRECONDITION_FAILED = {"412", "PreconditionFailed"}


class StorageError(Exception):
    """A storage call failed for a reason worth retrying (network, 5xx)."""


class ObjectChanged(Exception):
    """The object's ETag is no longer the one asked for: it was replaced."""


class RangeNotSatisfiable(Exception):
    """The range asked for starts past the object's end."""


class UploadNotFound(Exception):
    """Storage has no multipart upload with this id: assembled already, aborted or expired."""


@dataclass(frozen=True)
class OpenUpload:
    """A multipart upload storage holds that was neither completed nor aborted."""

    key: str
    upload_id: str
    initiated: datetime


@dataclass(frozen=True)
class StoredObject:
    size: int
    etag: str  # without the quotes


@dataclass(frozen=True)
class ObjectRead:
    """An open GET of (part of) an object: `content_range` is storage's header for a range.
    `close` lets its connection go before the `read` context ends (a read that broke off)."""

    length: int
    content_range: str | None
    chunks: AsyncIterator[bytes]
    close: Callable[[], None]


@dataclass(frozen=True)
class StoredPart:
    part_number: int
    etag: str
    size: int


class Storage:
    def __init__(self, settings: Settings) -> None:
        if not settings.s3_endpoint_url:
            raise ValueError("REELAY_S3_ENDPOINT_URL is not set")
        self.bucket = settings.s3_bucket
        # Callers name objects `media/{id}/...`; the prefix lets deployments share a bucket.
        self.key_prefix = settings.s3_key_prefix
        self._settings = settings
        self._stack = AsyncExitStack()
        self._session = aioboto3.Session(
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key,
            region_name=settings.s3_region,
        )
        self.internal: S3Client
        self.public: S3Client

    async def __aenter__(self) -> Storage:
        endpoint = self._settings.s3_endpoint_url
        public = self._settings.s3_public_endpoint_url or endpoint
        self.internal = await self._stack.enter_async_context(
            self._session.client("s3", endpoint_url=endpoint, config=BOTO_CONFIG)
        )
        self.public = await self._stack.enter_async_context(
            self._session.client("s3", endpoint_url=public, config=BOTO_CONFIG)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    # -- bucket and health -------------------------------------------------------------------
    async def ensure_bucket(self) -> None:
        try:
            await self.internal.head_bucket(Bucket=self.bucket)
        except ClientError:
            await self.internal.create_bucket(Bucket=self.bucket)

    async def ping(self) -> None:
        await self.internal.head_bucket(Bucket=self.bucket)

    # -- presigned uploads -------------------------------------------------------------------
    async def presign_post(
        self, key: str, *, content_type: str, max_size: int, expires: int
    ) -> dict[str, Any]:
        # The policy pins the exact key, the content type and the size, so a client cannot
        # use the form to write elsewhere or more than it declared.
        return await self.public.generate_presigned_post(
            Bucket=self.bucket,
            Key=self._key(key),
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, max_size],
            ],
            ExpiresIn=expires,
        )

    async def create_multipart(self, key: str, *, content_type: str) -> str:
        answer = await self.internal.create_multipart_upload(
            Bucket=self.bucket, Key=self._key(key), ContentType=content_type
        )
        return answer["UploadId"]

    async def presign_part(
        self, key: str, upload_id: str, part_number: int, *, size: int, expires: int
    ) -> str:
        # Content-Length is signed: the URL stores exactly `size` bytes, so a client cannot park
        # parts larger than the item it declared.
        return await self.public.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "UploadId": upload_id,
                "PartNumber": part_number,
                "ContentLength": size,
            },
            ExpiresIn=expires,
        )

    async def upload_part(
        self, key: str, upload_id: str, part_number: int, body: bytes | BinaryIO | io.RawIOBase
    ) -> str:
        """Store one part of a multipart upload from bytes or a seekable file; returns its ETag."""
        # botocore copies a bytes body whole (to add its checksum trailer) but reads a file in
        # small chunks; a BytesIO over bytes shares their buffer, so a part is held only once.
        # botocore only reads, seeks and tells, which a RawIOBase does as well as a BinaryIO.
        answer = await self.internal.upload_part(
            Bucket=self.bucket,
            Key=self._key(key),
            UploadId=upload_id,
            PartNumber=part_number,
            Body=io.BytesIO(body) if isinstance(body, bytes) else cast("BinaryIO", body),
        )
        return answer["ETag"].strip('"')

    async def list_parts(self, key: str, upload_id: str) -> list[StoredPart]:
        parts: list[StoredPart] = []
        marker = 0
        while True:
            try:
                answer = await self.internal.list_parts(
                    Bucket=self.bucket,
                    Key=self._key(key),
                    UploadId=upload_id,
                    PartNumberMarker=marker,
                )
            except ClientError as exc:
                if error_code(exc) in {"NoSuchUpload", "404"}:
                    raise UploadNotFound(upload_id) from exc
                raise
            parts += [
                StoredPart(p["PartNumber"], p["ETag"].strip('"'), p["Size"])
                for p in answer.get("Parts", [])
            ]
            if not answer.get("IsTruncated"):
                return parts
            marker = answer["NextPartNumberMarker"]

    async def complete_multipart(
        self, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> None:
        await self.internal.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self._key(key),
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [
                    {"PartNumber": n, "ETag": f'"{etag.strip(chr(34))}"'} for n, etag in parts
                ]
            },
        )

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            await self.internal.abort_multipart_upload(
                Bucket=self.bucket, Key=self._key(key), UploadId=upload_id
            )
        except ClientError as exc:
            if error_code(exc) not in {"NoSuchUpload", "404"}:
                raise

    # -- objects -------------------------------------------------------------------------------
    async def head(self, key: str) -> StoredObject | None:
        """Size and ETag of the stored object, or None when there is none."""
        try:
            answer = await self.internal.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return StoredObject(int(answer["ContentLength"]), answer["ETag"].strip('"'))

    async def object_size(self, key: str) -> int | None:
        """Size of the stored object, or None when there is none."""
        stored = await self.head(key)
        return stored.size if stored else None

    async def presign_get(self, key: str, *, expires: int, download_name: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key)}
        if download_name:
            params["ResponseContentDisposition"] = content_disposition(download_name)
        return await self.public.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires
        )

    async def upload_file(self, path: Path, key: str, *, content_type: str) -> None:
        await self.internal.upload_file(
            str(path), self.bucket, self._key(key), ExtraArgs={"ContentType": content_type}
        )

    async def put_bytes(self, key: str, data: bytes, *, content_type: str) -> None:
        await self.internal.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
        )

    async def download_file(self, key: str, path: Path, *, if_match: str | None = None) -> None:
        """Download to `path`; with `if_match`, raise ObjectChanged unless the object still has
        that ETag (every ranged GET of the download carries If-Match, so a replacement halfway
        through is caught too)."""
        extra = {"IfMatch": f'"{if_match}"'} if if_match else None
        try:
            await self.internal.download_file(
                self.bucket, self._key(key), str(path), ExtraArgs=extra
            )
        except ClientError as exc:
            if if_match and error_code(exc) in _PRECONDITION_FAILED:
                raise ObjectChanged(key) from exc
            raise

    @asynccontextmanager
    async def read(
        self,
        key: str,
        *,
        byte_range: str | None,
        if_match: str | None,
        chunk_size: int = 256 * 1024,
    ) -> AsyncIterator[ObjectRead]:
        """Stream the object, or the HTTP `byte_range` of it; with `if_match`, only while its
        ETag is that (ObjectChanged once replaced). RangeNotSatisfiable past its end."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key)}
        if if_match:
            params["IfMatch"] = f'"{if_match}"'
        if byte_range is not None:
            params["Range"] = byte_range
        try:
            answer = await self.internal.get_object(**params)
        except ClientError as exc:
            code = error_code(exc)
            if code in _PRECONDITION_FAILED:
                raise ObjectChanged(key) from exc
            if code in {"416", "InvalidRange"}:
                raise RangeNotSatisfiable(key) from exc
            raise
        body = answer["Body"]
        async with body:  # its __aenter__ gives the raw response, without iter_chunks
            yield ObjectRead(
                length=int(answer["ContentLength"]),
                content_range=answer.get("ContentRange"),
                chunks=body.iter_chunks(chunk_size),
                close=body.close,
            )

    async def get_bytes(self, key: str) -> bytes:
        answer = await self.internal.get_object(Bucket=self.bucket, Key=self._key(key))
        async with answer["Body"] as body:
            return await body.read()

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; returns how many were deleted."""
        deleted = 0
        paginator = self.internal.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            keys: list[ObjectIdentifierTypeDef] = [
                {"Key": o["Key"]} for o in page.get("Contents", [])
            ]
            if keys:
                await self.internal.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
                )
                deleted += len(keys)
        return deleted

    async def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self.internal.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            keys += [o["Key"].removeprefix(self.key_prefix) for o in page.get("Contents", [])]
        return keys

    async def open_multipart_uploads(self, prefix: str) -> list[OpenUpload]:
        found: list[OpenUpload] = []
        paginator = self.internal.get_paginator("list_multipart_uploads")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            found += [
                OpenUpload(u["Key"].removeprefix(self.key_prefix), u["UploadId"], u["Initiated"])
                for u in page.get("Uploads", [])
            ]
        return found

    def _key(self, key: str) -> str:
        return self.key_prefix + key


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def content_disposition(filename: str) -> str:
    # RFC 6266: an ASCII fallback plus the exact UTF-8 name.
    # The fallback keeps printable ASCII only: no quotes, backslashes or control characters.
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"

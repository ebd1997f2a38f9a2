"""Media items made through the API, as a client makes them: the one way tests create media.

`create_media` leaves an item awaiting its upload; `upload_and_complete` also stores the file
through the presigned form and queues it. The request bodies are built here too, so a test that
is about one field overrides only that field.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import httpx

from tests.support.client import Account

MIB = 1024 * 1024

DEFAULT_BODIES = {
    "videos": {"filename": "clip.mp4", "content_type": "video/mp4", "size": 1024},
    "images": {"filename": "picture.png", "content_type": "image/png", "size": 1024},
}


def media_body(*, kind: str = "videos", **fields: Any) -> dict[str, Any]:
    """A POST /videos (or /images) body: filename, content_type and size."""
    return {**DEFAULT_BODIES[kind], **fields}


async def create_media(
    api: httpx.AsyncClient,
    account: Account,
    source: Path | None = None,
    *,
    kind: str = "videos",
    **fields: Any,
) -> dict[str, Any]:
    """POST /{kind}: an item awaiting the upload of `source` (named and sized after it)."""
    if source is not None:
        fields = {"filename": source.name, "size": source.stat().st_size, **fields}
    answer = await api.post(
        f"/{kind}", json=media_body(kind=kind, **fields), headers=account.headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def post_form(upload: dict[str, Any], path: Path) -> httpx.Response:
    """Send the file to storage exactly as a browser form would."""
    async with httpx.AsyncClient(timeout=60) as storage:
        return await storage.post(
            upload["url"], data=upload["fields"], files={"file": (path.name, path.read_bytes())}
        )


async def upload_and_complete(
    api: httpx.AsyncClient, account: Account, source: Path, *, kind: str = "videos", **fields: Any
) -> dict[str, Any]:
    """Create, upload through the presigned form, complete: the item as queued."""
    media = await create_media(api, account, source, kind=kind, **fields)
    stored = await post_form(media["upload"], source)
    assert stored.status_code in (200, 204), stored.text
    done = await api.post(f"/{kind}/{media['id']}/complete", json={}, headers=account.headers)
    assert done.status_code == 202, done.text
    return done.json()


async def put_parts(
    upload: dict[str, Any], data: bytes, numbers: Iterable[int]
) -> list[dict[str, Any]]:
    """PUT the given parts of `data` to their presigned URLs; returns [{part_number, etag}]."""
    urls = {p["part_number"]: p["url"] for p in upload["parts"]}
    size = upload["part_size"]
    done = []
    async with httpx.AsyncClient(timeout=60) as storage:
        for n in numbers:
            answer = await storage.put(urls[n], content=data[(n - 1) * size : n * size])
            assert answer.status_code == 200, answer.text
            done.append({"part_number": n, "etag": answer.headers["etag"]})
    return done


# -- bodies for POST /{kind}/upload, the form streamed through the API ------------------------


async def zeros(total: int, chunk: int = MIB) -> AsyncIterator[bytes]:
    """`total` zero bytes, produced a chunk at a time so the sender never holds them all."""
    block = bytes(chunk)
    sent = 0
    while sent < total:
        piece = block[: min(chunk, total - sent)]
        sent += len(piece)
        yield piece


async def from_bytes(data: bytes) -> AsyncIterator[bytes]:
    yield data


def streamed_form(
    file_chunks: AsyncIterator[bytes],
    *,
    filename: str = "clip.mp4",
    content_type: str | None = "video/mp4",
    field: str = "file",
    extra_fields: dict[str, str] | None = None,
    close: bool = True,
) -> tuple[dict[str, str], AsyncIterator[bytes]]:
    """A multipart/form-data body built by hand around a streamed file: (headers, body)."""
    boundary = f"reelay-test-{uuid.uuid4().hex}"
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in (extra_fields or {}).items()
    )
    disposition = f'form-data; name="{field}"; filename="{filename}"'
    head += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n".encode()
    head += b"\r\n"

    async def body() -> AsyncIterator[bytes]:
        yield head
        async for chunk in file_chunks:
            yield chunk
        if close:
            yield f"\r\n--{boundary}--\r\n".encode()

    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}, body()

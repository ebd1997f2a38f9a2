"""Factories and helpers for the media API tests: request bodies, streamed forms, parts, waiting."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import httpx

from tests.support.client import Account

MIB = 1024 * 1024
TERMINAL = {"completed", "failed", "canceled"}


def media_body(
    *, filename: str = "clip.mp4", content_type: str = "video/mp4", size: int = 1024
) -> dict[str, Any]:
    """A POST /videos (or /images) body; override what a test is about."""
    return {"filename": filename, "content_type": content_type, "size": size}


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


async def wait_for_status(
    api: httpx.AsyncClient,
    account: Account,
    media_id: str,
    statuses: set[str],
    *,
    kind: str = "videos",
    within: float = 90,
) -> dict[str, Any]:
    """Poll GET /{kind}/{id} until its status is one of `statuses`, for up to `within` s."""
    deadline = time.monotonic() + within
    while True:
        media = (await api.get(f"/{kind}/{media_id}", headers=account.headers)).json()
        if media["status"] in statuses:
            return media
        assert media["status"] not in TERMINAL, media
        assert time.monotonic() < deadline, f"still {media['status']} after {within} s"
        await asyncio.sleep(0.3)


def write_file(path: Path, size: int) -> Path:
    path.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
    return path


def assert_problem(answer: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    """`answer` is RFC 9457 problem details with this status and a detail naming `words`."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    body = answer.json()
    assert body["status"] == status and body["title"] and body["type"], body
    for word in words:
        assert word.lower() in body["detail"].lower(), body["detail"]
    return body

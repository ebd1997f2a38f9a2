"""Direct uploads to storage: one presigned POST, or multipart parts that survive interruption.

A multipart upload keeps a small state file per source file in the config dir; running the
same upload again asks the server which parts it already has (POST /{kind}/{id}/parts) and
sends only the rest.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

import httpx

from reelay_cli.client.api import ApiError, ReelayClient, storage_client
from reelay_cli.client.config import config_dir, write_private

Advance = Callable[[int], None]
Notice = Callable[[str], None]
CHUNK = 256 * 1024
PART_ATTEMPTS = 3

# extension -> (API collection, content type); the server has the final word on what it accepts.
TYPES: dict[str, tuple[str, str]] = {
    ".mp4": ("videos", "video/mp4"),
    ".m4v": ("videos", "video/x-m4v"),
    ".mov": ("videos", "video/quicktime"),
    ".webm": ("videos", "video/webm"),
    ".mkv": ("videos", "video/x-matroska"),
    ".avi": ("videos", "video/x-msvideo"),
    ".jpg": ("images", "image/jpeg"),
    ".jpeg": ("images", "image/jpeg"),
    ".png": ("images", "image/png"),
    ".webp": ("images", "image/webp"),
    ".gif": ("images", "image/gif"),
    ".heic": ("images", "image/heic"),
    ".heif": ("images", "image/heif"),
}


def kind_and_type(path: Path) -> tuple[str, str]:
    return TYPES.get(path.suffix.lower(), ("videos", "application/octet-stream"))


def size_words(count: int) -> str:
    """1.54 MB, 16.8 MB: sizes as people read them (decimal units, as the progress bars show)."""
    if count < 1000:
        return f"{count} bytes"
    value = count / 1000
    for unit in ("kB", "MB"):
        if value < 1000:
            return f"{value:.3g} {unit}"
        value /= 1000
    return f"{value:,.1f} GB"


# -- resume state ----------------------------------------------------------------------------


@dataclass
class ResumeState:
    """What a later run needs to finish a multipart upload of this file on this server."""

    server: str
    path: str
    size: int
    mtime_ns: int
    kind: str
    media_id: str
    part_size: int
    etags: dict[str, str] = field(default_factory=dict)  # part number -> ETag

    @staticmethod
    def file_for(server: str, path: Path) -> Path:
        digest = hashlib.sha256(f"{server}\n{path.resolve()}".encode()).hexdigest()[:32]
        return config_dir() / "uploads" / f"{digest}.json"

    @classmethod
    def load(cls, server: str, path: Path) -> ResumeState | None:
        try:
            state = cls(**json.loads(cls.file_for(server, path).read_text()))
        except (OSError, ValueError, TypeError):
            return None
        stat = path.stat()
        if (state.size, state.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
            state.remove()  # the file changed since: start over
            return None
        return state

    def save(self) -> None:
        write_private(self.file_for(self.server, Path(self.path)), json.dumps(asdict(self)))

    def remove(self) -> None:
        self.file_for(self.server, Path(self.path)).unlink(missing_ok=True)


# -- the upload ------------------------------------------------------------------------------


class ProgressReader:
    """A file object that reports every byte httpx reads from it (httpx streams multipart files)."""

    def __init__(self, file: BinaryIO, advance: Advance) -> None:
        self.file = file
        self.advance = advance
        self.position = 0

    def read(self, n: int = -1) -> bytes:
        chunk = self.file.read(n)
        self.position += len(chunk)
        self.advance(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        self.advance(-self.position)  # httpx rewinds before sending: count from zero again
        self.position = 0
        return self.file.seek(offset, whence)

    def tell(self) -> int:
        return self.file.tell()

    def fileno(self) -> int:
        return self.file.fileno()


def storage_error(response: httpx.Response) -> ApiError:
    message = re.search(r"<Message>(.*?)</Message>", response.text or "", re.S)
    reason = (
        message.group(1).strip()
        if message
        else (response.text.strip()[:200] or response.reason_phrase)
    )
    return ApiError(
        f"storage refused the upload: {reason} (HTTP {response.status_code})",
        status=response.status_code,
    )


def upload(
    client: ReelayClient, path: Path, advance: Advance, notice: Notice = lambda _: None
) -> dict[str, Any]:
    """Send `path` to the server's storage and queue it; the queued media object is returned.
    `notice` is told in words what a person should know (a resumed upload)."""
    size = path.stat().st_size
    kind, content_type = kind_and_type(path)
    state = ResumeState.load(client.server, path)
    if state is not None:
        resumed = resume(client, state, path, advance, notice)
        if resumed is not None:
            return resumed
    media = client.create(kind, path.name, content_type, size)
    plan = media["upload"]
    if plan["method"] == "multipart":
        stat = path.stat()
        state = ResumeState(
            server=client.server,
            path=str(path.resolve()),
            size=size,
            mtime_ns=stat.st_mtime_ns,
            kind=kind,
            media_id=media["id"],
            part_size=plan["part_size"],
        )
        state.save()
        return send_parts(client, state, path, plan["parts"], advance)
    with storage_client() as storage, path.open("rb") as file:
        reader = ProgressReader(file, advance)
        try:
            answer = storage.post(
                plan["url"],
                data=plan["fields"],
                # httpx calls only what ProgressReader has: read, seek, tell and fileno.
                files={"file": (path.name, cast(BinaryIO, reader), content_type)},
            )
        except httpx.HTTPError as exc:
            raise ApiError(f"upload to storage failed: {exc}") from exc
    if answer.status_code not in (200, 201, 204):
        raise storage_error(answer)
    return client.complete(kind, media["id"])


def resume(
    client: ReelayClient,
    state: ResumeState,
    path: Path,
    advance: Advance,
    notice: Notice = lambda _: None,
) -> dict[str, Any] | None:
    """Finish an interrupted multipart upload; None when there is nothing to resume."""
    try:
        plan = client.resume_parts(state.kind, state.media_id)
    except ApiError as exc:
        if exc.status == 409:  # no upload in progress: maybe the last run completed it
            media = client.get(state.kind, state.media_id)
            if media["status"] != "awaiting_upload":
                state.remove()
                return media
        if exc.status in (404, 409):
            state.remove()
            return None
        raise
    stored = plan.get("stored_parts", [])
    state.etags = {str(p["part_number"]): p["etag"] for p in stored}
    state.part_size = plan["part_size"]
    state.save()
    already = sum(int(p["size"]) for p in stored)
    notice(
        f"{path.name}: resuming an interrupted upload; {len(stored)} of "
        f"{len(stored) + len(plan['parts'])} parts ({size_words(already)} of "
        f"{size_words(state.size)}) were already stored"
    )
    advance(already)
    return send_parts(client, state, path, plan["parts"], advance)


def send_parts(
    client: ReelayClient,
    state: ResumeState,
    path: Path,
    parts: list[dict[str, Any]],
    advance: Advance,
) -> dict[str, Any]:
    with storage_client() as storage, path.open("rb") as file:
        for part in parts:
            number = int(part["part_number"])
            state.etags[str(number)] = put_part(storage, file, part["url"], state, number, advance)
            state.save()  # from here on, a new run skips this part
    done = sorted((int(n), etag) for n, etag in state.etags.items())
    media = client.complete(
        state.kind, state.media_id, [{"part_number": n, "etag": e} for n, e in done]
    )
    state.remove()
    return media


def put_part(
    storage: httpx.Client,
    file: BinaryIO,
    url: str,
    state: ResumeState,
    number: int,
    advance: Advance,
) -> str:
    offset = (number - 1) * state.part_size
    length = max(0, min(state.part_size, state.size - offset))
    last_error: Exception | None = None
    for _ in range(PART_ATTEMPTS):
        sent = 0

        def body() -> Iterator[bytes]:
            nonlocal sent
            file.seek(offset)
            remaining = length
            while remaining:
                chunk = file.read(min(CHUNK, remaining))
                if not chunk:
                    raise ApiError(f"{state.path} shrank while it was being uploaded")
                remaining -= len(chunk)
                sent += len(chunk)
                advance(len(chunk))
                yield chunk

        try:
            answer = storage.put(url, content=body(), headers={"Content-Length": str(length)})
        except httpx.HTTPError as exc:
            last_error = ApiError(f"upload of part {number} failed: {exc}")
        else:
            if answer.status_code == 200 and answer.headers.get("etag"):
                return answer.headers["etag"].strip('"')
            last_error = storage_error(answer)
        advance(-sent)
    assert last_error is not None
    raise last_error

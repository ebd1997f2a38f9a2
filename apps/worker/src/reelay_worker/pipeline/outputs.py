"""Uploading a finished output tree to storage, concurrently, with byte progress."""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path

from reelay_core.storage import Storage

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
}
CONCURRENCY = 8
# Removing an unfinished attempt's outputs must not hold up the job's end for long: the next
# attempt, the cancel and the fail steps remove them too.
DISCARD_WAIT = 30.0

log = logging.getLogger(__name__)


def content_type(path: Path) -> str:
    return (
        CONTENT_TYPES.get(path.suffix)
        or mimetypes.guess_type(path.name)[0]
        or "application/octet-stream"
    )


async def upload_tree(
    storage: Storage,
    files: dict[Path, str],
    on_progress: Callable[[float], Awaitable[None]],
) -> None:
    """Upload `files` (local path -> key); `on_progress` gets the fraction of bytes done.

    The first failure (a storage error, or Fenced from `on_progress`) stops the other uploads
    and is raised as itself, not wrapped in an ExceptionGroup, so callers can tell them apart.
    """
    sizes = {path: path.stat().st_size for path in files}
    total = sum(sizes.values()) or 1
    done = 0
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(path: Path, key: str) -> None:
        nonlocal done
        async with gate:
            await storage.upload_file(path, key, content_type=content_type(path))
        done += sizes[path]
        await on_progress(done / total)

    try:
        async with asyncio.TaskGroup() as group:
            for path, key in files.items():
                group.create_task(one(path, key))
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None


async def discard(storage: Storage, prefix: str) -> None:
    """An attempt ends unfinished: what it published goes (its uploads have stopped)."""
    try:
        async with asyncio.timeout(DISCARD_WAIT):
            await storage.delete_prefix(prefix)
    except Exception as exc:
        log.warning("could not remove the unfinished outputs under %s: %r", prefix, exc)

"""Attacks through uploads and media files: stalled bodies, too many uploads at once, decoders
outside the allow-list, pixel bombs, and a source replaced after the API checked it.

Each test performs the attack against the real stack and asserts it is refused or bounded.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import pytest
from reelay_core.db import models as m
from reelay_core.db.models import MediaKind, MediaStatus
from reelay_core.effects import unit_of_work
from reelay_core.media import keys, transitions
from reelay_core.settings import Settings
from reelay_core.storage import Storage
from reelay_worker.resources import WorkerResources
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.api_server import serve_app
from tests.support.burst import private_queue_resources, run_jobs
from tests.support.client import Account, assert_problem, register
from tests.support.factories import post_form, upload_and_complete
from tests.support.media import MediaFactory
from tests.support.processes import AppProcesses
from tests.support.waits import until, wait_terminal

MIB = 1024 * 1024
STALLED = 16
# What one stalled upload may cost the API. Before the buffer grew with the data, each cost a
# zero-filled 16 MiB part buffer.
PER_STALLED_UPLOAD = 2 * MIB
# What refusing a 7070x7070 PNG (50 MP, under the old cap) may add to the worker's peak memory;
# decoding it cost about 650 MiB.
PIXEL_BOMB_BOUND = 64 * MIB
BOUNDARY = "reelay-attack"


class StalledUpload:
    """A form upload that announces a large body, sends its first few KB and then nothing."""

    def __init__(self, base_url: str, account: Account, *, declared: int = 64 * MIB) -> None:
        self.url = urlsplit(base_url)
        self.account = account
        self.declared = declared

    async def start(self) -> StalledUpload:
        assert self.url.hostname and self.url.port
        self.reader, self.writer = await asyncio.open_connection(self.url.hostname, self.url.port)
        head = (
            f"POST /videos/upload HTTP/1.1\r\nHost: {self.url.netloc}\r\n"
            f"Authorization: Bearer {self.account.token}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {self.declared}\r\n\r\n"
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="slow.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        )
        self.writer.write(head.encode() + secrets.token_bytes(4096))
        await self.writer.drain()
        return self

    async def answer(self) -> bytes:
        """The status line the server sent (it answers before the body ends)."""
        return await self.reader.readline()

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass


async def open_uploads(storage: Storage, at_least: int = 1) -> bool:
    return len(await storage.open_multipart_uploads(keys.ROOT)) >= at_least


async def no_open_uploads(storage: Storage) -> bool:
    return not await storage.open_multipart_uploads(keys.ROOT)


@pytest.fixture
async def stalled() -> AsyncIterator[list[StalledUpload]]:
    uploads: list[StalledUpload] = []
    yield uploads
    await asyncio.gather(*(upload.close() for upload in uploads))


async def test_stalled_uploads_cost_the_api_kilobytes(
    api: httpx.AsyncClient, apps: AppProcesses, storage: Storage, stalled: list[StalledUpload]
) -> None:
    per_user = apps.settings.max_uploads_per_user
    accounts = [await register(api) for _ in range(-(-STALLED // per_user))]
    process = psutil.Process(apps.api.pid)
    before = process.memory_info().rss
    for i in range(STALLED):
        stalled.append(await StalledUpload(apps.base_url, accounts[i // per_user]).start())
    # Every upload has got as far as storage: its part buffer holds the bytes sent so far.
    await until(
        lambda: open_uploads(storage, STALLED), what=f"{STALLED} multipart uploads are open"
    )
    grown = process.memory_info().rss - before
    assert grown < STALLED * PER_STALLED_UPLOAD, f"{grown / MIB:.1f} MiB for {STALLED} uploads"


async def test_a_silent_body_is_answered_408_and_its_parts_aborted(
    api: httpx.AsyncClient, stack_settings: Settings, storage: Storage
) -> None:
    account = await register(api)
    async with serve_app(stack_settings, upload_idle_timeout_seconds=1.0) as server:
        upload = await StalledUpload(str(server.base_url), account).start()
        try:
            await until(lambda: open_uploads(storage), what="the upload reaches storage")
            status = await asyncio.wait_for(upload.answer(), timeout=30)
        finally:
            await upload.close()
    assert status.startswith(b"HTTP/1.1 408"), status
    await until(lambda: no_open_uploads(storage), what="the partial upload is aborted")


async def test_concurrent_uploads_are_capped_per_user_across_processes(
    api: httpx.AsyncClient, apps: AppProcesses, stack_settings: Settings, storage: Storage,
    stalled: list[StalledUpload],
) -> None:  # fmt: skip
    account = await register(api)
    # Two held by the session's API process...
    stalled += [await StalledUpload(apps.base_url, account).start() for _ in range(2)]
    await until(lambda: open_uploads(storage, 2), what="2 uploads are open")
    form = {"file": ("clip.mp4", b"not really a video", "video/mp4")}
    async with serve_app(stack_settings, max_uploads_per_user=2) as other:
        # ... count in another API process, which shares the limit through Redis.
        refused = await other.post("/videos/upload", files=form, headers=account.headers)
        body = assert_problem(refused, 429, "uploads")
        assert body["code"] == "too_many_uploads"
        assert int(refused.headers["Retry-After"]) > 0

        # A user's slots are freed when the uploads end, here by the client going away.
        await asyncio.gather(*(upload.close() for upload in stalled))

        async def accepted() -> bool:
            answer = await other.post("/videos/upload", files=form, headers=account.headers)
            return answer.status_code == 202

        await until(accepted, what="an upload is accepted once the others ended")


@pytest.fixture(scope="module")
def zmbv_video(media_factory: MediaFactory) -> Path:
    """Lossless screen-capture video: a decoder FFmpeg carries but the pipeline has no use for."""
    return media_factory._make(
        "zmbv.avi",
        ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5:duration=1", "-c:v", "zmbv"],
    )


@pytest.fixture(scope="module")
def pixel_bomb(media_factory: MediaFactory) -> Path:
    """7070x7070 of one colour: 50 megapixels in a few hundred KB of PNG."""
    return media_factory._make(
        "bomb-7070.png", ["-f", "lavfi", "-i", "color=c=red:size=7070x7070", "-frames:v", "1"]
    )


async def test_a_codec_outside_the_allow_list_is_refused(
    api: httpx.AsyncClient, apps: AppProcesses, zmbv_video: Path
) -> None:
    account = await register(api)
    media = await upload_and_complete(api, account, zmbv_video, content_type="video/x-msvideo")
    failed = await wait_terminal(api, account, media["id"])
    assert failed["status"] == "failed", failed
    assert failed["error"]["code"] == "unsupported_format", failed
    assert "zmbv" in failed["error"]["message"]


def peak_rss(pid: int) -> int:
    """The process's high-water mark of resident memory (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


async def test_a_pixel_bomb_is_refused_within_a_memory_bound(
    api: httpx.AsyncClient, apps: AppProcesses, pixel_bomb: Path
) -> None:
    account = await register(api)
    workers = [worker.pid for worker in apps.workers]
    before = {pid: peak_rss(pid) for pid in workers}
    media = await upload_and_complete(
        api, account, pixel_bomb, kind="images", content_type="image/png"
    )
    failed = await wait_terminal(api, account, media["id"])
    assert failed["status"] == "failed", failed
    assert failed["error"]["code"] == "resolution_too_large", failed
    for pid in workers:
        grown = peak_rss(pid) - before[pid]
        assert grown < PIXEL_BOMB_BOUND, f"worker {pid}: peak grew {grown / MIB:.0f} MiB"


async def test_complete_records_the_etag_a_later_replacement_changes(
    api: httpx.AsyncClient, apps: AppProcesses, storage: Storage, media_factory: MediaFactory
) -> None:
    """The attack: POST the presigned form again after `complete` (it is still valid)."""
    account = await register(api)
    clip = media_factory.video(seconds=1, fps=10)
    created = await api.post(
        "/videos",
        json={"filename": "clip.mp4", "content_type": "video/mp4", "size": clip.stat().st_size},
        headers=account.headers,
    )
    upload = created.json()["upload"]
    assert (await post_form(upload, clip)).status_code in (200, 204)
    media_id = created.json()["id"]
    done = await api.post(f"/videos/{media_id}/complete", json={}, headers=account.headers)
    assert done.status_code == 202, done.text
    recorded = await media_row_etag(apps.settings, media_id)
    source_key = keys.source_key(uuid.UUID(media_id), ".mp4")
    checked = await storage.head(source_key)
    assert checked is not None and recorded == checked.etag

    replacement = media_factory.video(seconds=1, fps=10, width=160, height=120)
    await post_form(upload, replacement)  # may succeed: the URL has not expired
    stored = await storage.head(source_key)
    assert stored is not None and stored.etag != recorded


async def media_row_etag(settings: Settings, media_id: str) -> str | None:
    engine = create_async_engine(str(settings.database_url))
    try:
        async with engine.connect() as conn:
            return (
                await conn.execute(select(m.Media.source_etag).where(m.Media.id == media_id))
            ).scalar_one()
    finally:
        await engine.dispose()


@pytest.fixture
async def side_res(stack_settings: Settings, clean_state: None) -> AsyncIterator[WorkerResources]:
    async with private_queue_resources(stack_settings, "security") as opened:
        yield opened


async def test_a_source_replaced_after_complete_is_not_transcoded(
    side_res: WorkerResources, media_factory: MediaFactory
) -> None:
    res = side_res
    checked = media_factory.video(seconds=1, fps=10)
    media = await stored_item(res, checked)
    async with unit_of_work(res) as db:
        row = await db.get(m.Media, media.id, with_for_update=True)
        assert row is not None
        head = await res.storage.head(row.source_key)
        assert head is not None
        row.source_etag = head.etag  # as `complete` records it
        await transitions.queue_attempt(db, row, attempt=1)
    # Replaced between `complete` and the worker's download.
    other = media_factory.video(seconds=1, fps=10, width=160, height=120)
    await res.storage.upload_file(other, media.source_key, content_type="video/mp4")

    await run_jobs(res)

    async with res.sessions() as db:
        ended = await db.get(m.Media, media.id)
    assert ended is not None
    assert (ended.status, ended.error_code) == (MediaStatus.FAILED, "source_changed")
    assert await res.storage.list_keys(media.output_prefix) == []


async def stored_item(res: WorkerResources, source: Path) -> m.Media:
    """An item awaiting its upload, owned by a new user, with `source` stored."""
    async with res.sessions() as db:
        user = m.User(email=f"{secrets.token_hex(6)}@example.com", password_hash="-")
        db.add(user)
        await db.flush()
        media_id = uuid.uuid4()
        media = m.Media(
            id=media_id,
            owner_id=user.id,
            kind=MediaKind.VIDEO,
            filename="clip.mp4",
            content_type="video/mp4",
            size=source.stat().st_size,
            source_key=keys.source_key(media_id, ".mp4"),
            output_prefix=keys.output_prefix(media_id),
        )
        db.add(media)
        await db.commit()
    await res.storage.upload_file(source, media.source_key, content_type="video/mp4")
    return media

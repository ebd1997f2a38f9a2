"""The worker against the real stack: sources, a view of storage and the database, and
dedicated worker processes for tests that need other settings (a fake FFmpeg, a TMPDIR).

Sources are tiny (10 fps, a few seconds) so the whole folder runs in a few minutes on 2 cores.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from reelay_core import jobs
from reelay_core.media.keys import attempt_prefix, hls_key, output_key, output_prefix
from reelay_core.settings import Settings
from reelay_core.storage import Storage
from reelay_stack.children import ChildProcess
from reelay_worker.resources import WorkerResources, open_resources
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.media import MediaFactory
from tests.support.processes import AppProcesses
from tests.support.waits import until_sync

FPS = 10

# -- sources ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def clip_1080(media_factory: MediaFactory) -> Path:
    return media_factory.video(width=1920, height=1080, seconds=2, fps=FPS)


@pytest.fixture(scope="session")
def clip_1080_long(media_factory: MediaFactory) -> Path:
    """Long enough (about 15 s of encoding on 2 cores) to be caught mid-transcode."""
    return media_factory.video(width=1920, height=1080, seconds=8, fps=FPS)


@pytest.fixture(scope="session")
def clip_720(media_factory: MediaFactory) -> Path:
    return media_factory.video(width=1280, height=720, seconds=4, fps=FPS)


@pytest.fixture(scope="session")
def clip_small(media_factory: MediaFactory) -> Path:
    return media_factory.video(width=320, height=240, seconds=2, fps=FPS)


@pytest.fixture(scope="session")
def clip_silent(media_factory: MediaFactory) -> Path:
    return media_factory.video(width=854, height=480, seconds=2, fps=FPS, audio=False)


@pytest.fixture(scope="session")
def clip_rotated(media_factory: MediaFactory) -> Path:
    return media_factory.rotated(fps=FPS)


# -- database --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def db_engine(stack_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(str(stack_settings.database_url))
    yield engine
    await engine.dispose()


@dataclass
class StoredEvent:
    seq: int
    event: str
    data: dict[str, Any]
    at: float  # seconds since the epoch, as the writer's clock had it


async def stored_events(engine: AsyncEngine, media_id: str) -> list[StoredEvent]:
    """The media_events rows of one item, in sequence order: what SSE replays from."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT seq, event, data, created_at FROM media_events "
                "WHERE media_id = :id ORDER BY seq"
            ),
            {"id": media_id},
        )
        return [StoredEvent(r.seq, r.event, r.data, r.created_at.timestamp()) for r in rows]


async def output_keys(storage: Storage, media_id: str) -> list[str]:
    return await storage.list_keys(output_prefix(media_id))


def published(media_id: str, attempt: int = 1) -> str:
    """Where `attempt` of the item published its outputs."""
    return attempt_prefix(output_prefix(media_id), attempt)


async def expected_video_keys(storage: Storage, media_id: str, attempt: int = 1) -> set[str]:
    """Every key a finished video should have, read from its own playlists."""
    out = published(media_id, attempt)
    keys = {
        hls_key(out, "master.m3u8"),
        output_key(out, "video.mp4"),
        output_key(out, "poster.jpg"),
    }
    master = (await storage.get_bytes(hls_key(out, "master.m3u8"))).decode()
    for variant in playlist_entries(master):
        keys.add(hls_key(out, variant))
        directory = variant.rsplit("/", 1)[0]
        playlist = (await storage.get_bytes(hls_key(out, variant))).decode()
        keys |= {hls_key(out, f"{directory}/{segment}") for segment in playlist_entries(playlist)}
    return keys


def playlist_entries(playlist: str) -> list[str]:
    return [line.strip() for line in playlist.splitlines() if line.strip() and line[0] != "#"]


# -- worker processes ------------------------------------------------------------------------


def transcoding(media: dict[str, Any]) -> bool:
    return (
        media["status"] == "processing" and media["stage"] == "transcode" and media["progress"] > 5
    )


def ffmpeg_children(worker: ChildProcess) -> list[psutil.Process]:
    """FFmpeg processes the worker has spawned (they run in their own session, not its group)."""
    try:
        children = psutil.Process(worker.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if child.name() == "ffmpeg":
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def wait_started(apps: AppProcesses, worker: ChildProcess) -> None:
    """Until the worker's start-up (database, storage, FFmpeg found) is done."""

    def ready() -> bool:
        if worker.exited() is not None:
            raise RuntimeError(f"worker exited: {apps.log(worker.name)[-3000:]}")
        return "worker ready" in apps.log(worker.name)

    try:
        until_sync(ready, what=f"{worker.name} ready")
    except AssertionError as exc:
        raise RuntimeError(f"{exc}; its log:\n{apps.log(worker.name)[-3000:]}") from exc


def start_worker(apps: AppProcesses, role: str, **env: str) -> ChildProcess:
    worker = apps.start_worker(f"worker-{role}-{uuid.uuid4().hex[:6]}", **env)
    wait_started(apps, worker)
    return worker


def stop_worker(apps: AppProcesses, worker: ChildProcess) -> None:
    worker.stop(grace=15)
    if worker in apps.workers:
        apps.workers.remove(worker)


@pytest.fixture
def dedicated_worker(apps: AppProcesses) -> Iterator[Callable[..., ChildProcess]]:
    """`dedicated_worker(**env)`: the only worker until the test ends, started with extra
    REELAY_* (or other) variables; afterwards one worker with the suite's settings again."""

    @contextmanager
    def only_this_worker() -> Iterator[None]:
        for worker in list(apps.workers):
            stop_worker(apps, worker)
        try:
            yield
        finally:
            for worker in list(apps.workers):
                stop_worker(apps, worker)
            start_worker(apps, "default")

    started: list[ChildProcess] = []

    def start(**env: str) -> ChildProcess:
        assert not started, "one dedicated worker per test"
        worker = start_worker(apps, "dedicated", **env)
        started.append(worker)
        return worker

    with only_this_worker():
        yield start


@pytest.fixture
def default_workers(apps: AppProcesses) -> Iterator[AppProcesses]:
    """At least one worker with the suite's settings, also after a test that killed one."""
    if not apps.workers:
        start_worker(apps, "default")
    yield apps
    if not apps.workers:
        start_worker(apps, "default")


@pytest.fixture
async def worker_resources(stack_settings: Settings) -> AsyncIterator[WorkerResources]:
    """What a worker's start-up builds, for calling its job functions in the test itself."""
    redis = await jobs.connect(str(stack_settings.redis_url))
    try:
        async with open_resources(stack_settings, redis) as resources:
            yield resources
    finally:
        await redis.aclose()

"""Cancel or delete an item at any moment of its job: it ends exactly `canceled` or `completed`
(a cancel answers 409 only for `completed`), no FFmpeg runs on, no temp dir stays, and after
DELETE nothing is stored under its prefix.

The job runs in an in-process burst worker; a checkpoint holds it at the chosen moment (the
item's stored stage is then that moment's) while the API, served in the same loop, is asked to
cancel or delete it, and then lets it go on as it would have.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from reelay_core.db import models as m
from reelay_core.db.models import MediaKind, MediaStatus
from reelay_core.effects import unit_of_work
from reelay_core.media import keys, transitions
from reelay_core.settings import Settings
from reelay_worker.jobs.attempt import Attempt
from reelay_worker.pipeline import video
from reelay_worker.pipeline.publisher import Publisher
from reelay_worker.resources import WorkerResources

from tests.integration.lifecycle.conftest import load
from tests.support.api_server import serve_app
from tests.support.burst import run_jobs
from tests.support.client import Account, register
from tests.support.media import MediaFactory

HOLD_DEADLINE = 120.0  # the job reaches its checkpoint; generous for a loaded 2-core machine


@pytest.fixture(scope="module")
def clip(media_factory: MediaFactory) -> Path:
    """Long enough for several FFmpeg progress lines and an upload of several segments."""
    return media_factory.video(width=320, height=240, seconds=4, fps=15)


@pytest.fixture
async def api(stack_settings: Settings, clean_state: None) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_app(stack_settings) as client:
        yield client


@dataclass
class Checkpoint:
    """Holds the job the first time it gets to a point, until the test lets it go."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def hold(self) -> None:
        if self.reached.is_set():
            return
        self.reached.set()
        await self.released.wait()


Wrap = Callable[..., Awaitable[Any]]


def hold_before(checkpoint: Checkpoint, original: Wrap) -> Wrap:
    async def held(*args: Any, **kwargs: Any) -> Any:
        await checkpoint.hold()
        return await original(*args, **kwargs)

    return held


def hold_after(checkpoint: Checkpoint, original: Wrap) -> Wrap:
    async def held(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        await checkpoint.hold()
        return result

    return held


def hold_in_stage(checkpoint: Checkpoint, stage: str) -> Wrap:
    """Hold a progress report once `stage` is under way (stored, and past its start)."""
    original = Attempt.report

    async def report(self: Attempt, at: str, fraction: float, **kwargs: Any) -> None:
        await original(self, at, fraction, **kwargs)
        if at == stage and fraction > 0:
            await checkpoint.hold()

    return report


# Where the job is held, and the stage its item has stored then ("queued": not claimed yet).
MOMENTS: dict[str, str] = {
    "before_claim": "queued",
    "probe": "probe",
    "transcode": "transcode",
    "upload": "upload",
    "completing": "upload",  # every output stored, `complete` not committed
    "completed": "completed",
}


def hold_at(moment: str, checkpoint: Checkpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    if moment == "before_claim":
        monkeypatch.setattr(Attempt, "claim", hold_before(checkpoint, Attempt.claim))
    elif moment == "probe":
        monkeypatch.setattr(video, "run_ffprobe", hold_before(checkpoint, video.run_ffprobe))
    elif moment in ("transcode", "upload"):
        monkeypatch.setattr(Attempt, "report", hold_in_stage(checkpoint, moment))
    elif moment == "completing":
        monkeypatch.setattr(Attempt, "complete", hold_before(checkpoint, Attempt.complete))
    elif moment == "final_upload":  # segments published while encoding, nothing final stored
        monkeypatch.setattr(Publisher, "finish", hold_before(checkpoint, Publisher.finish))
    else:
        monkeypatch.setattr(Attempt, "complete", hold_after(checkpoint, Attempt.complete))


async def queued_video(res: WorkerResources, owner: Account, source: Path) -> m.Media:
    """An uploaded video of `owner`, its attempt 1 queued on the test's private queue."""
    media_id = uuid.uuid4()
    media = m.Media(
        id=media_id,
        owner_id=uuid.UUID(owner.id),
        kind=MediaKind.VIDEO,
        filename=source.name,
        content_type="video/mp4",
        size=source.stat().st_size,
        source_key=keys.source_key(media_id, ".mp4"),
        output_prefix=keys.output_prefix(media_id),
    )
    await res.storage.upload_file(source, media.source_key, content_type="video/mp4")
    async with unit_of_work(res) as db:
        db.add(media)
        await db.flush()
        await transitions.queue_attempt(db, media, attempt=1)
    return media


def ffmpeg_children() -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process().children(recursive=True)
        if child.is_running()
        and child.status() != psutil.STATUS_ZOMBIE
        and "ffmpeg" in child.name().lower() + " ".join(child.cmdline()[:1]).lower()
    ]


def temp_dirs(media_id: uuid.UUID) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"reelay-{media_id}-*"))


async def run_held(
    res: WorkerResources, media: m.Media, checkpoint: Checkpoint
) -> asyncio.Task[Any]:
    """Start the burst worker and return once its job is held at the checkpoint."""
    worker = asyncio.create_task(run_jobs(res))
    reached = asyncio.create_task(checkpoint.reached.wait())
    done, _ = await asyncio.wait(
        {worker, reached}, timeout=HOLD_DEADLINE, return_when="FIRST_COMPLETED"
    )
    if reached not in done:
        reached.cancel()
        checkpoint.released.set()
        await worker
        item = await load(res, media.id)
        pytest.fail(f"the job never reached its checkpoint; the item is {item.status}")
    return worker


async def held_job(
    res: WorkerResources,
    api: httpx.AsyncClient,
    clip: Path,
    moment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Account, m.Media, Checkpoint, asyncio.Task[Any]]:
    """A new user's video, its job running in the burst worker and held at `moment`."""
    owner = await register(api)
    checkpoint = Checkpoint()
    hold_at(moment, checkpoint, monkeypatch)
    media = await queued_video(res, owner, clip)
    return owner, media, checkpoint, await run_held(res, media, checkpoint)


async def finish(worker: asyncio.Task[Any], checkpoint: Checkpoint) -> None:
    checkpoint.released.set()
    await asyncio.wait_for(worker, HOLD_DEADLINE)


@pytest.mark.parametrize("moment", list(MOMENTS))
async def test_a_cancel_at_any_moment_ends_canceled_or_409_once_completed(
    res: WorkerResources,
    api: httpx.AsyncClient,
    clip: Path,
    moment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner, media, checkpoint, worker = await held_job(res, api, clip, moment, monkeypatch)

    held = await load(res, media.id)
    expected = MOMENTS[moment]
    assert (held.stage or held.status.value) == expected, (held.status, held.stage)
    if moment == "transcode":
        assert ffmpeg_children(), "FFmpeg should be running while the transcode is held"

    answer = await api.post(f"/videos/{media.id}/cancel", headers=owner.headers)
    await finish(worker, checkpoint)

    ended = await load(res, media.id)
    if moment == "completed":
        assert answer.status_code == 409, answer.text
        assert answer.json()["code"] == "already_terminal"
        assert ended.status is MediaStatus.COMPLETED
    else:
        assert answer.status_code == 202, answer.text
        assert ended.status is MediaStatus.CANCELED, ended.status
        assert ended.lease_expires_at is None and ended.outputs == []
    assert ffmpeg_children() == []
    assert temp_dirs(media.id) == []

    deleted = await api.delete(f"/videos/{media.id}", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text
    assert await res.storage.list_keys(keys.item_prefix(media.id)) == []


@pytest.mark.parametrize("moment", ["transcode", "upload", "completing"])
async def test_a_delete_while_the_job_runs_leaves_no_object_and_no_process(
    res: WorkerResources,
    api: httpx.AsyncClient,
    clip: Path,
    moment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner, media, checkpoint, worker = await held_job(res, api, clip, moment, monkeypatch)
    if moment != "transcode":  # outputs are stored by now: the delete must find them all
        assert await res.storage.list_keys(media.output_prefix)

    # Let go only after the answer: a job that outlives the API's wait for it to stop must
    # still leave nothing behind.
    deleted = await api.delete(f"/videos/{media.id}", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text
    await finish(worker, checkpoint)

    assert (await api.get(f"/videos/{media.id}", headers=owner.headers)).status_code == 404
    assert ffmpeg_children() == []
    assert temp_dirs(media.id) == []
    assert await res.storage.list_keys(keys.item_prefix(media.id)) == []

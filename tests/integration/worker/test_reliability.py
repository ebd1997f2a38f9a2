"""Crashes, hangs, retries and cancels, with real worker processes and a real FFmpeg."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from arq import ArqRedis
from arq.jobs import JobStatus
from reelay_core import jobs
from reelay_core.storage import Storage

from tests.integration.worker.conftest import (
    StoredEvent,
    expected_video_keys,
    ffmpeg_children,
    output_keys,
    start_worker,
    stop_worker,
    stored_events,
    transcoding,
)
from tests.support.client import register
from tests.support.factories import upload_and_complete
from tests.support.media import FFMPEG
from tests.support.processes import AppProcesses
from tests.support.waits import (
    JOB_DEADLINE,
    exited,
    media_state,
    until,
    wait_for_media,
    wait_terminal,
)


async def test_job_of_a_killed_worker_completes_on_another_exactly_once(
    api: httpx.AsyncClient, default_workers, clip_1080_long: Path, storage: Storage, db_engine,
    arq_redis: ArqRedis,
) -> None:  # fmt: skip
    apps = default_workers
    second = start_worker(apps, "second")
    try:
        account = await register(api)
        media_id = (await upload_and_complete(api, account, clip_1080_long))["id"]
        # Mid-transcode with segments published: attempt 1's are in storage when it dies.
        await wait_for_media(
            api,
            account,
            media_id,
            lambda m: transcoding(m) and m["playable"],
            what="mid-transcode and playable",
        )
        running = [(w, p) for w in apps.workers for p in ffmpeg_children(w)]
        assert len(running) == 1, running
        victim, ffmpeg = running[0]

        apps.kill_worker(victim)  # SIGKILL: no chance to clean up or hand the job back

        # PR_SET_PDEATHSIG: FFmpeg dies with its worker instead of encoding on for nobody.
        await until(lambda: exited(ffmpeg.pid), what="the killed worker's FFmpeg exits")
        # Once its lease has run out, the sweeper requeues it.
        requeued = await wait_for_media(
            api, account, media_id, lambda m: m["attempts"] == 2, what="requeue"
        )
        assert requeued["status"] in ("queued", "processing", "completed")
        media = await wait_terminal(api, account, media_id)
    finally:
        if second in apps.workers and len(apps.workers) > 1:
            stop_worker(apps, second)

    assert media["status"] == "completed", media["error"]
    assert media["attempts"] == 2
    assert [o["name"] for o in media["outputs"]] == [
        "1080p", "720p", "480p", "360p", "mp4", "poster",
    ]  # fmt: skip
    keys = await output_keys(storage, media_id)
    assert len(keys) == len(set(keys))
    assert set(keys) == await expected_video_keys(storage, media_id, attempt=2), (
        "exactly one set of outputs"
    )
    events = await stored_events(db_engine, media_id)
    assert [e.event for e in events].count("completed") == 1
    # Requeued unplayable: attempt 1's segments are never served as attempt 2's.
    requeue = next(e for e in events if e.data["status"] == "queued" and e.data["attempts"] == 2)
    assert requeue.data["playable"] is False
    attempt_2 = [e for e in events if e.data["attempts"] == 2 and e.data["status"] == "processing"]
    progress = [e.data["progress"] for e in attempt_2]
    assert progress == sorted(progress) and progress[0] == 0

    # A late copy of attempt 1 (as arq could re-run it) finds the item is not its own.
    late = await arq_redis.enqueue_job(jobs.TRANSCODE, media_id, 1, _job_id=f"late-{media_id}")
    assert late is not None
    assert (await late.result(timeout=JOB_DEADLINE)).startswith("not ours")
    assert len(await stored_events(db_engine, media_id)) == len(events), "it wrote nothing"
    assert sorted(await output_keys(storage, media_id)) == sorted(keys), "and uploaded nothing"


GATED = """\
#!/bin/sh
# Stands in for FFmpeg: says it started, waits for the test's go, then runs the real one.
echo $$ >> "{started}"
while [ ! -e "{go}" ]; do sleep 0.1; done
exec "{ffmpeg}" "$@"
"""


@dataclass
class Gate:
    """A worker's FFmpeg held at the door: the test knows a job is running, and decides when
    it may go on."""

    started: Path
    go: Path
    env: dict[str, str]

    def pids(self) -> list[int]:
        return (
            [int(pid) for pid in self.started.read_text().split()] if self.started.exists() else []
        )


@pytest.fixture
def gate(tmp_path: Path) -> Gate:
    started, go, script = tmp_path / "started", tmp_path / "go", tmp_path / "ffmpeg-gated"
    script.write_text(GATED.format(started=started, go=go, ffmpeg=FFMPEG))
    script.chmod(0o755)
    ffprobe = str(Path(FFMPEG).with_name("ffprobe"))
    return Gate(started, go, {"REELAY_FFMPEG": str(script), "REELAY_FFPROBE": ffprobe})


def statuses(events: list[StoredEvent]) -> list[tuple[str, int]]:
    """The changes of status: not progress, nor the `status` event of becoming playable."""
    changes = []
    for event in events:
        change = (event.data["status"], event.data["attempts"])
        if event.event != "progress" and (not changes or changes[-1] != change):
            changes.append(change)
    return changes


async def test_a_stopped_worker_hands_its_job_back_at_once_at_no_cost_in_attempts(
    api: httpx.AsyncClient, apps: AppProcesses, dedicated_worker, gate: Gate, clip_small: Path,
    arq_redis: ArqRedis, db_engine,
) -> None:  # fmt: skip
    # A lease of ten minutes cannot run out during this test, so the sweeper cannot requeue the
    # item: only the leaving worker can have handed it back.
    leaving = dedicated_worker(
        **gate.env, REELAY_WORKER_DRAIN_SECONDS="0", REELAY_LEASE_SECONDS="600"
    )
    account = await register(api)
    media_id = (await upload_and_complete(api, account, clip_small))["id"]
    await until(gate.pids, what="the job reaches FFmpeg")

    stop_worker(apps, leaving)  # SIGTERM, as `reelay up`'s Ctrl-C sends

    assert leaving.exited() == 0, "it stopped by itself, not killed after the grace period"
    for pid in gate.pids():
        await until(lambda pid=pid: exited(pid), what=f"the leaving worker's FFmpeg {pid} exits")
    handed_back = await media_state(api, account, media_id)
    assert handed_back["status"] == "queued" and handed_back["attempts"] == 1
    assert handed_back["error"] is None
    # Enqueued at once under the next attempt number: not deferred, not left to the sweeper.
    assert await jobs.handle(arq_redis, f"transcode:{media_id}:2").status() == JobStatus.queued
    log = apps.log(leaving.name)
    assert "handed back, not counted as an attempt" in log
    assert "will be run again" not in log

    start_worker(apps, "next")
    media = await wait_terminal(api, account, media_id)
    assert media["status"] == "completed" and media["attempts"] == 1, media["error"]
    assert statuses(await stored_events(db_engine, media_id)) == [
        ("awaiting_upload", 0), ("queued", 1), ("processing", 1),
        ("queued", 1), ("processing", 1), ("completed", 1),
    ]  # fmt: skip


async def test_a_stopping_worker_takes_no_new_job_and_lets_a_short_one_finish(
    api: httpx.AsyncClient, apps: AppProcesses, dedicated_worker, gate: Gate, clip_small: Path,
    db_engine,
) -> None:  # fmt: skip
    leaving = dedicated_worker(
        **gate.env, REELAY_WORKER_DRAIN_SECONDS="600", REELAY_WORKER_CONCURRENCY="1"
    )
    account = await register(api)
    running = (await upload_and_complete(api, account, clip_small))["id"]
    await until(gate.pids, what="the job reaches FFmpeg")
    waiting = (await upload_and_complete(api, account, clip_small))["id"]  # behind the first

    os.killpg(leaving.pid, signal.SIGTERM)
    await until(
        lambda: "stopping on SIGTERM" in apps.log(leaving.name), what="the worker hears SIGTERM"
    )
    gate.go.touch()
    await until(lambda: leaving.exited() is not None, what="the worker exits", within=JOB_DEADLINE)
    stop_worker(apps, leaving)

    assert leaving.exited() == 0
    finished = await media_state(api, account, running)
    assert finished["status"] == "completed" and finished["attempts"] == 1, finished["error"]
    assert statuses(await stored_events(db_engine, running)) == [
        ("awaiting_upload", 0), ("queued", 1), ("processing", 1), ("completed", 1),
    ]  # fmt: skip
    assert statuses(await stored_events(db_engine, waiting)) == [
        ("awaiting_upload", 0), ("queued", 1),
    ]  # fmt: skip
    assert "handed back, not counted" not in apps.log(leaving.name)

    start_worker(apps, "next")
    media = await wait_terminal(api, account, waiting)
    assert media["status"] == "completed" and media["attempts"] == 1, media["error"]


HANG_TWICE = """\
#!/bin/sh
# Stands in for FFmpeg: the first two calls hang without a word of progress, then the real one.
calls=$(cat "{counter}" 2>/dev/null || echo 0)
calls=$((calls + 1))
echo "$calls" > "{counter}"
if [ "$calls" -le 2 ]; then
  echo $$ >> "{pids}"
  exec sleep 600
fi
exec "{ffmpeg}" "$@"
"""


async def test_hanging_ffmpeg_is_killed_and_retried_with_backoff(
    api: httpx.AsyncClient, dedicated_worker, clip_small: Path, tmp_path: Path, db_engine
) -> None:
    counter, pids = tmp_path / "calls", tmp_path / "pids"
    script = tmp_path / "ffmpeg-hangs-twice"
    script.write_text(HANG_TWICE.format(counter=counter, pids=pids, ffmpeg=FFMPEG))
    script.chmod(0o755)
    delays = [1.0, 3.0]
    dedicated_worker(
        REELAY_FFMPEG=str(script), REELAY_FFPROBE=str(Path(FFMPEG).with_name("ffprobe")),
        REELAY_STALL_TIMEOUT="2", REELAY_RETRY_DELAYS=str(delays), REELAY_MAX_ATTEMPTS="3",
    )  # fmt: skip
    account = await register(api)
    media_id = (await upload_and_complete(api, account, clip_small))["id"]

    media = await wait_terminal(api, account, media_id)

    assert media["status"] == "completed", media["error"]
    assert media["attempts"] == 3 and counter.read_text().strip() == "3"
    for pid in map(int, pids.read_text().split()):
        await until(lambda pid=pid: exited(pid), what=f"the stalled FFmpeg {pid} exits")

    events = await stored_events(db_engine, media_id)
    assert "failed" not in [e.event for e in events]
    for attempt, delay in zip((2, 3), delays, strict=True):
        queued = next(
            e for e in events if e.data["status"] == "queued" and e.data["attempts"] == attempt
        )
        claimed = next(
            e for e in events
            if e.data["status"] == "processing" and e.data["attempts"] == attempt
        )  # fmt: skip
        # The stall is the previous attempt's last word; then the backoff of the schedule.
        previous = [e for e in events if e.seq < queued.seq and e.data["attempts"] == attempt - 1]
        assert previous[-1].data["status"] == "processing"
        waited = claimed.at - queued.at
        # Not before its delay; after it, as soon as a busy machine gets to it.
        assert delay - 0.1 <= waited <= delay + 10, (attempt, waited)


async def test_cancel_mid_transcode_kills_ffmpeg_and_removes_temp_files(
    api: httpx.AsyncClient, dedicated_worker, clip_1080_long: Path, tmp_path: Path,
    storage: Storage,
) -> None:  # fmt: skip
    temp = tmp_path / "worker-tmp"
    temp.mkdir()
    worker = dedicated_worker(TMPDIR=str(temp))
    account = await register(api)
    media_id = (await upload_and_complete(api, account, clip_1080_long))["id"]
    await wait_for_media(api, account, media_id, transcoding, what="mid-transcode")
    [ffmpeg] = ffmpeg_children(worker)
    assert list(temp.glob(f"reelay-{media_id}-*")), "the job's temp dir is in the worker's TMPDIR"

    canceled = await api.post(f"/videos/{media_id}/cancel", headers=account.headers)
    assert canceled.status_code == 202, canceled.text

    await until(lambda: exited(ffmpeg.pid), what="FFmpeg exits on the cancel")
    await until(lambda: not any(temp.iterdir()), what="the job's temp files removed")
    assert ffmpeg_children(worker) == []
    assert worker.exited() is None and psutil.Process(worker.pid).is_running()
    media = await wait_terminal(api, account, media_id)
    assert media["status"] == "canceled" and media["attempts"] == 1
    assert await output_keys(storage, media_id) == []

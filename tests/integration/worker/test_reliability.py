"""Crashes, hangs, retries and cancels, with real worker processes and a real FFmpeg."""

from __future__ import annotations

from pathlib import Path

import httpx
import psutil
from arq import ArqRedis
from reelay_core import jobs
from reelay_core.storage import Storage

from tests.integration.worker.conftest import (
    expected_video_keys,
    ffmpeg_children,
    output_keys,
    start_worker,
    stop_worker,
    stored_events,
)
from tests.support.client import register
from tests.support.factories import upload_and_complete
from tests.support.media import FFMPEG
from tests.support.processes import AppProcesses
from tests.support.waits import JOB_DEADLINE, exited, until, wait_for_media, wait_terminal


def transcoding(media: dict) -> bool:
    return (
        media["status"] == "processing" and media["stage"] == "transcode" and media["progress"] > 5
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
        await wait_for_media(api, account, media_id, transcoding, what="mid-transcode")
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
    assert set(keys) == await expected_video_keys(storage, media_id), "exactly one set of outputs"
    events = await stored_events(db_engine, media_id)
    assert [e.event for e in events].count("completed") == 1
    attempt_2 = [e for e in events if e.data["attempts"] == 2 and e.data["status"] == "processing"]
    progress = [e.data["progress"] for e in attempt_2]
    assert progress == sorted(progress) and progress[0] == 0

    # A late copy of attempt 1 (as arq could re-run it) finds the item is not its own.
    late = await arq_redis.enqueue_job(jobs.TRANSCODE, media_id, 1, _job_id=f"late-{media_id}")
    assert late is not None
    assert (await late.result(timeout=JOB_DEADLINE)).startswith("not ours")
    assert len(await stored_events(db_engine, media_id)) == len(events), "it wrote nothing"
    assert sorted(await output_keys(storage, media_id)) == sorted(keys), "and uploaded nothing"


async def test_worker_stopping_gracefully_hands_its_job_back_at_once(
    api: httpx.AsyncClient, apps: AppProcesses, dedicated_worker, clip_1080_long: Path
) -> None:
    # A lease of ten minutes cannot run out during this test, so the sweeper cannot requeue the
    # item: only the leaving worker can have handed it back.
    leaving = dedicated_worker(REELAY_LEASE_SECONDS="600")
    account = await register(api)
    media_id = (await upload_and_complete(api, account, clip_1080_long))["id"]
    await wait_for_media(api, account, media_id, transcoding, what="mid-transcode")
    [ffmpeg] = ffmpeg_children(leaving)

    stop_worker(apps, leaving)  # SIGTERM, as a deploy or `reelay up` Ctrl-C sends

    await until(lambda: exited(ffmpeg.pid), what="the leaving worker's FFmpeg exits")
    requeued = await wait_for_media(
        api, account, media_id, lambda m: m["attempts"] == 2, what="hand-back"
    )
    assert requeued["status"] in ("queued", "processing") and requeued["error"] is None
    start_worker(apps, "next")
    await wait_for_media(api, account, media_id, transcoding, what="attempt 2 running")
    # Enough: stop attempt 2 rather than spend the CPU of the next tests on it.
    await api.post(f"/videos/{media_id}/cancel", headers=account.headers)
    await wait_terminal(api, account, media_id)


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

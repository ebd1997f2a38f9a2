"""Crashes, hangs, retries and cancels, with real worker processes and a real FFmpeg."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psutil
from arq import create_pool
from arq.connections import RedisSettings
from reelay_core import jobs
from reelay_core.settings import Settings
from reelay_core.storage import Storage

from tests.integration.worker.conftest import (
    eventually,
    expected_video_keys,
    ffmpeg_children,
    output_keys,
    start_worker,
    stop_worker,
    stored_events,
    wait_for,
    wait_terminal,
)
from tests.support.client import register, upload_and_complete
from tests.support.media import FFMPEG
from tests.support.processes import process_gone

SWEEP_PERIOD = 5  # media.sweep_leases runs every 5 s


def transcoding(media: dict) -> bool:
    return (
        media["status"] == "processing" and media["stage"] == "transcode" and media["progress"] > 5
    )


async def test_job_of_a_killed_worker_completes_on_another_exactly_once(
    api: httpx.AsyncClient, default_workers, stack_settings: Settings, clip_1080_long: Path,
    storage: Storage, db_engine,
) -> None:  # fmt: skip
    apps = default_workers
    second = start_worker(apps, "second")
    try:
        account = await register(api)
        media_id = (await upload_and_complete(api, account, clip_1080_long))["id"]
        await wait_for(api, account, media_id, transcoding, within=60, what="mid-transcode")
        running = [(w, p) for w in apps.workers for p in ffmpeg_children(w)]
        assert len(running) == 1, running
        victim, ffmpeg = running[0]

        apps.kill_worker(victim)  # SIGKILL: no chance to clean up or hand the job back
        killed_at = time.monotonic()

        # PR_SET_PDEATHSIG: FFmpeg dies with its worker instead of encoding on for nobody.
        assert await process_gone(ffmpeg.pid), "the killed worker's FFmpeg is still running"
        requeued = await wait_for(
            api, account, media_id, lambda m: m["attempts"] == 2, within=40, what="requeue"
        )
        within = time.monotonic() - killed_at
        assert within <= stack_settings.lease_seconds + SWEEP_PERIOD + 3, within
        assert requeued["status"] in ("queued", "processing", "completed")
        media = await wait_terminal(api, account, media_id, within=120)
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
    redis = await create_pool(RedisSettings.from_dsn(str(stack_settings.redis_url)))
    try:
        late = await redis.enqueue_job(jobs.TRANSCODE, media_id, 1, _job_id=f"late-copy-{media_id}")
        assert late is not None
        assert (await late.result(timeout=30)).startswith("not ours")
    finally:
        await redis.aclose()
    assert len(await stored_events(db_engine, media_id)) == len(events), "it wrote nothing"
    assert sorted(await output_keys(storage, media_id)) == sorted(keys), "and uploaded nothing"


async def test_worker_stopping_gracefully_hands_its_job_back_at_once(
    api: httpx.AsyncClient, default_workers, stack_settings: Settings, clip_1080_long: Path
) -> None:
    apps = default_workers
    start_worker(apps, "second")
    account = await register(api)
    media_id = (await upload_and_complete(api, account, clip_1080_long))["id"]
    await wait_for(api, account, media_id, transcoding, within=60, what="mid-transcode")
    [(leaving, ffmpeg)] = [(w, p) for w in apps.workers for p in ffmpeg_children(w)]

    stopped_at = time.monotonic()
    stop_worker(apps, leaving)  # SIGTERM, as a deploy or `reelay up` Ctrl-C sends

    assert await process_gone(ffmpeg.pid)
    requeued = await wait_for(
        api, account, media_id, lambda m: m["attempts"] == 2, within=10, what="hand-back"
    )
    # The lease, renewed every third of its length, cannot have run out this soon: the item
    # was handed back by the leaving worker, not found by the sweeper.
    assert time.monotonic() - stopped_at < stack_settings.lease_seconds * 2 / 3 - 0.5
    assert requeued["status"] in ("queued", "processing") and requeued["error"] is None
    await wait_for(api, account, media_id, transcoding, within=30, what="attempt 2 running")
    # Enough: stop attempt 2 rather than spend the CPU of the next tests on it.
    await api.post(f"/videos/{media_id}/cancel", headers=account.headers)
    await wait_terminal(api, account, media_id, within=10)


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

    media = await wait_terminal(api, account, media_id, within=60)

    assert media["status"] == "completed", media["error"]
    assert media["attempts"] == 3 and counter.read_text().strip() == "3"
    for pid in map(int, pids.read_text().split()):
        assert await process_gone(pid), "a stalled FFmpeg was left running"

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
        assert delay - 0.1 <= waited <= delay + 2.5, (attempt, waited)


async def test_cancel_mid_transcode_kills_ffmpeg_and_removes_temp_files(
    api: httpx.AsyncClient, dedicated_worker, clip_1080_long: Path, tmp_path: Path,
    storage: Storage,
) -> None:  # fmt: skip
    temp = tmp_path / "worker-tmp"
    temp.mkdir()
    worker = dedicated_worker(TMPDIR=str(temp))
    account = await register(api)
    media_id = (await upload_and_complete(api, account, clip_1080_long))["id"]
    await wait_for(api, account, media_id, transcoding, within=60, what="mid-transcode")
    [ffmpeg] = ffmpeg_children(worker)
    assert list(temp.glob(f"reelay-{media_id}-*")), "the job's temp dir is in the worker's TMPDIR"

    canceled = await api.post(f"/videos/{media_id}/cancel", headers=account.headers)
    assert canceled.status_code == 202, canceled.text

    assert await process_gone(ffmpeg.pid), "FFmpeg survived the cancel"
    assert await eventually(lambda: not any(temp.iterdir())), "temp files left behind"
    assert ffmpeg_children(worker) == []
    assert worker.exited() is None and psutil.Process(worker.pid).is_running()
    media = await wait_terminal(api, account, media_id, within=10)
    assert media["status"] == "canceled" and media["attempts"] == 1
    assert await output_keys(storage, media_id) == []

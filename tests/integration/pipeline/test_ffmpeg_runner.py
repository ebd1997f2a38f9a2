"""The runner against the real static FFmpeg, and against shell scripts that misbehave."""

import asyncio
import os
import signal
import struct
import sys
from pathlib import Path

import psutil
import pytest
from reelay_core.media.command import (
    build_master_playlist,
    build_transcode_args,
    output_layout,
    poster_time,
)
from reelay_core.media.errors import MediaRejected
from reelay_core.media.ladder import Rung, choose_ladder
from reelay_core.media.playlists import media_playlist, parse_segment_list
from reelay_core.media.probe import SourceInfo, parse_probe
from reelay_core.media.progress import ProgressSample, percent
from reelay_worker.pipeline.errors import (
    FFmpegFailed,
    FFmpegKilled,
    FFmpegOutputMissing,
    FFmpegStalled,
)
from reelay_worker.pipeline.ffmpeg_runner import check_outputs, run_ffmpeg, run_ffprobe

from tests.support.waits import DEADLINE, exited, until


async def transcode(
    source: Path, out: Path, ffmpeg_bin: str, ffprobe_bin: str
) -> tuple[SourceInfo, list[Rung], list[ProgressSample]]:
    """What the video pipeline does, without storage."""
    info = parse_probe(await run_ffprobe(ffprobe_bin, str(source)))
    ladder = choose_ladder(info.width, info.height)
    layout = output_layout(ladder)
    for directory in layout.directories:
        (out / directory).mkdir(parents=True)
    args = build_transcode_args(
        ffmpeg_bin, str(source), str(out), ladder,
        has_audio=info.has_audio, frame_rate=info.frame_rate,
        poster_at=poster_time(info.duration), init_seconds=1, limit_seconds=info.duration + 1,
    )  # fmt: skip
    samples: list[ProgressSample] = []

    async def collect(sample: ProgressSample) -> None:
        samples.append(sample)

    await run_ffmpeg(args, on_progress=collect, stall_timeout=30)
    check_outputs(out, layout)
    for name, listing in layout.segment_lists.items():  # as the worker's publisher does
        segments = parse_segment_list((out / listing).read_text())
        (out / layout.playlists[name]).write_text(media_playlist(segments, 6, ended=True))
    (out / layout.master).write_text(
        build_master_playlist(ladder, info.has_audio, frame_rate=info.frame_rate)
    )
    return info, ladder, samples


async def video_size(ffprobe_bin: str, path: Path) -> tuple[int, int]:
    data = await run_ffprobe(ffprobe_bin, str(path), formats=None)  # our own outputs
    video = next(s for s in data["streams"] if s["codec_type"] == "video")
    return video["width"], video["height"]


def top_level_boxes(path: Path) -> list[str]:
    boxes = []
    with path.open("rb") as f:
        while header := f.read(8):
            size, kind = struct.unpack(">I4s", header)
            boxes.append(kind.decode("latin-1"))
            if size == 1:  # 64-bit size follows
                size = struct.unpack(">Q", f.read(8))[0] - 8
            elif size == 0:  # to the end of the file
                break
            f.seek(size - 8, os.SEEK_CUR)
    return boxes


async def pid_in(path: Path) -> int:
    """The pid a fake FFmpeg wrote to `path` once it started."""

    def written() -> str:
        return path.read_text().strip() if path.exists() else ""

    return int(await until(written, what=f"a pid in {path}"))


# --- real FFmpeg -------------------------------------------------------------------------


async def test_one_pass_ladder_of_a_1080p_source(source_1080, tmp_path, ffmpeg_bin, ffprobe_bin):
    out = tmp_path / "out"
    info, ladder, samples = await transcode(source_1080, out, ffmpeg_bin, ffprobe_bin)

    assert [r.name for r in ladder] == ["1080p", "720p", "480p", "360p"]
    # A short first segment, then the rest; cut at the same instants in every rung.
    cuts = {
        tuple((s.start, s.end) for s in parse_segment_list((out / listing).read_text()))
        for listing in output_layout(ladder).segment_lists.values()
    }
    assert len(cuts) == 1, cuts
    [boundaries] = cuts
    # (the first lasts up to the encoder's delay longer: two frames at 10 fps)
    assert len(boundaries) == 2 and 0.9 < boundaries[0][1] - boundaries[0][0] < 1.3, boundaries
    for rung in ladder:
        playlist = (out / rung.name / "index.m3u8").read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and "#EXT-X-ENDLIST" in playlist
        # MPEG-TS segments: this also proves the static build reads .ts with our env.
        segment = out / rung.name / "seg_00000.ts"
        assert await video_size(ffprobe_bin, segment) == (rung.width, rung.height)

    mp4 = await run_ffprobe(ffprobe_bin, str(out / "video.mp4"))
    streams = {s["codec_type"]: s for s in mp4["streams"]}
    assert (streams["video"]["width"], streams["video"]["height"]) == (1920, 1080)
    assert streams["video"]["profile"] == "High" and streams["audio"]["codec_name"] == "aac"
    boxes = top_level_boxes(out / "video.mp4")
    assert boxes.index("moov") < boxes.index("mdat")  # faststart

    assert await video_size(ffprobe_bin, out / "poster.jpg") == (1280, 720)
    master = (out / "master.m3u8").read_text()
    assert master.count("#EXT-X-STREAM-INF") == 4 and "1080p/index.m3u8" in master

    assert samples[-1].done and percent(samples[-1].out_time_s, info.duration) >= 99
    assert [s.out_time_s for s in samples] == sorted(s.out_time_s for s in samples)

    # Uploading a playlist (here our own) is refused, by name, before any transcode.
    with pytest.raises(MediaRejected) as refused:
        parse_probe(await run_ffprobe(ffprobe_bin, str(out / "720p" / "index.m3u8")))
    assert refused.value.code == "unsupported_format" and "Playlists" in refused.value.message


async def test_every_segment_ends_at_its_cut_at_30_fps(media_factory, tmp_path, ffmpeg_bin):
    # At 30 fps a forced keyframe's time rounds to just before its cut: each cut must still be
    # made there, not a keyframe (a whole segment) later.
    source = media_factory.video(width=320, height=240, seconds=11, fps=30)
    ladder = choose_ladder(320, 240)
    layout = output_layout(ladder)
    for directory in layout.directories:
        (tmp_path / directory).mkdir()
    args = build_transcode_args(
        ffmpeg_bin, str(source), str(tmp_path), ladder, has_audio=True, frame_rate=30,
        poster_at=1, segment_seconds=4, init_seconds=2, limit_seconds=12,
    )  # fmt: skip
    await run_ffmpeg(args, on_progress=None, stall_timeout=30)
    listed = parse_segment_list((tmp_path / layout.segment_lists[ladder[0].name]).read_text())
    ends = [round(segment.end) for segment in listed]
    assert ends == [2, 4, 8, 11], listed


async def test_rotated_source_comes_out_upright(source_rotated, tmp_path, ffmpeg_bin, ffprobe_bin):
    out = tmp_path / "out"
    info, ladder, _ = await transcode(source_rotated, out, ffmpeg_bin, ffprobe_bin)

    assert (info.width, info.height, info.rotation) == (720, 1280, 270)
    assert (ladder[0].name, ladder[0].width, ladder[0].height) == ("720p", 720, 1280)
    mp4 = await run_ffprobe(ffprobe_bin, str(out / "video.mp4"))
    video = next(s for s in mp4["streams"] if s["codec_type"] == "video")
    # Turned by FFmpeg's autorotate, so no display matrix is left for players to apply again.
    assert (video["width"], video["height"]) == (720, 1280)
    assert not video.get("side_data_list")
    assert await video_size(ffprobe_bin, out / "poster.jpg") == (720, 1280)


async def test_source_without_audio(source_silent, tmp_path, ffmpeg_bin, ffprobe_bin):
    out = tmp_path / "out"
    info, ladder, _ = await transcode(source_silent, out, ffmpeg_bin, ffprobe_bin)

    assert not info.has_audio and [r.name for r in ladder] == ["480p", "360p"]
    mp4 = await run_ffprobe(ffprobe_bin, str(out / "video.mp4"))
    assert [s["codec_type"] for s in mp4["streams"]] == ["video"]

    # A listed segment that is missing (a failed write) is caught afterwards.
    (out / "360p" / "seg_00000.ts").unlink()
    with pytest.raises(FFmpegOutputMissing) as missing:
        check_outputs(out, output_layout(ladder))
    assert missing.value.missing == ["360p/seg_00000.ts"]


async def test_probe_refuses_junk(tmp_path, ffprobe_bin):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(MediaRejected) as invalid:
        await run_ffprobe(ffprobe_bin, str(junk))
    assert invalid.value.code == "invalid_media" and invalid.value.detail


# --- misbehaving "FFmpeg" ----------------------------------------------------------------

PROGRESS_FOREVER = """\
echo $$ > "$1"
i=0
while true; do
  i=$((i + 1))
  printf 'frame=%d\\nout_time_us=%d00000\\nspeed=1.0x\\nprogress=continue\\n' $i $i
  sleep 0.05
done
"""


async def test_hanging_ffmpeg_is_killed_after_the_stall_timeout(fake_ffmpeg, tmp_path):
    # Prints nothing; its child shares the process group and must die with it.
    script = fake_ffmpeg('echo $$ > "$1"\nsleep 30 &\necho $! > "$2"\nwait\n')
    pid_file, child_file = tmp_path / "pid", tmp_path / "child"
    loop = asyncio.get_running_loop()
    started = loop.time()
    # Well before the script's own 30 s are up: only the stall timeout can have ended it.
    async with asyncio.timeout(20):
        with pytest.raises(FFmpegStalled):
            await run_ffmpeg(
                [script, str(pid_file), str(child_file)], on_progress=None, stall_timeout=1
            )
    assert loop.time() - started > 0.9, "not before the stall timeout"
    assert not psutil.pid_exists(int(pid_file.read_text()))  # killed and reaped
    child = int(child_file.read_text())
    await until(lambda: exited(child), what="the hanging FFmpeg's child exits")


async def test_repeating_the_same_position_is_a_stall(fake_ffmpeg):
    script = fake_ffmpeg(
        "while true; do printf 'frame=5\\nout_time_us=500000\\nprogress=continue\\n'; "
        "sleep 0.05; done\n"
    )
    with pytest.raises(FFmpegStalled):
        await run_ffmpeg([script], on_progress=None, stall_timeout=1)


async def test_cancel_kills_the_process_group(fake_ffmpeg, tmp_path):
    script = fake_ffmpeg(PROGRESS_FOREVER)
    pid_file = tmp_path / "pid"
    samples: list[ProgressSample] = []
    running = asyncio.Event()

    async def collect(sample: ProgressSample) -> None:
        samples.append(sample)
        if len(samples) >= 3:
            running.set()

    task = asyncio.create_task(
        run_ffmpeg([script, str(pid_file)], on_progress=collect, stall_timeout=10)
    )
    pid = await pid_in(pid_file)
    await asyncio.wait_for(running.wait(), timeout=DEADLINE)
    assert psutil.Process(pid).nice() == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    assert samples[-1].out_time_s > samples[0].out_time_s and not samples[-1].done

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not psutil.pid_exists(pid)


async def test_a_failing_progress_callback_stops_ffmpeg(fake_ffmpeg, tmp_path):
    script = fake_ffmpeg(PROGRESS_FOREVER)
    pid_file = tmp_path / "pid"

    async def broken(sample: ProgressSample) -> None:
        raise RuntimeError("database is down")

    with pytest.raises(RuntimeError, match="database is down"):
        await run_ffmpeg([script, str(pid_file)], on_progress=broken, stall_timeout=10)
    assert not psutil.pid_exists(int(pid_file.read_text()))


async def test_exit_status_and_stderr_tail(fake_ffmpeg):
    script = fake_ffmpeg(
        'i=0; while [ $i -lt 80 ]; do i=$((i + 1)); echo "warning line $i" >&2; done\n'
        "echo 'Conversion failed!' >&2\nexit 3\n"
    )
    with pytest.raises(FFmpegFailed) as failed:
        await run_ffmpeg([script], on_progress=None, stall_timeout=5)
    assert failed.value.returncode == 3
    assert len(failed.value.stderr_tail) == 50
    assert failed.value.stderr_tail[-1] == "Conversion failed!"
    assert "Conversion failed!" in str(failed.value)


async def test_killed_by_a_signal(fake_ffmpeg):
    script = fake_ffmpeg("kill -KILL $$\n")
    with pytest.raises(FFmpegKilled) as killed:
        await run_ffmpeg([script], on_progress=None, stall_timeout=5)
    assert killed.value.signal == signal.SIGKILL


async def test_ffmpeg_dies_with_a_crashed_worker(fake_ffmpeg, tmp_path):
    # The worker is SIGKILLed and cannot clean up: PR_SET_PDEATHSIG still ends FFmpeg.
    script = fake_ffmpeg('echo $$ > "$1"\nexec sleep 30\n')
    pid_file = tmp_path / "pid"
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import asyncio, sys\n"
        "from reelay_worker.pipeline.ffmpeg_runner import run_ffmpeg\n"
        "asyncio.run(run_ffmpeg(sys.argv[1:], on_progress=None, stall_timeout=60))\n",
        script,
        str(pid_file),
    )
    pid = await pid_in(pid_file)
    worker.kill()
    await worker.wait()
    await until(lambda: exited(pid), what="FFmpeg exits with its worker")


async def test_ffmpeg_runs_below_the_worker_also_across_sessions(fake_ffmpeg, tmp_path):
    # In a session of its own FFmpeg is in an autogroup of its own, where only that group's
    # nice value counts against other sessions (the API's).
    script = fake_ffmpeg(PROGRESS_FOREVER)
    pid_file = tmp_path / "pid"
    task = asyncio.create_task(
        run_ffmpeg([script, str(pid_file)], on_progress=None, stall_timeout=10)
    )
    try:
        pid = await pid_in(pid_file)
        assert os.sched_getscheduler(pid) == os.SCHED_BATCH
        autogroup = Path(f"/proc/{pid}/autogroup")
        if autogroup.exists():  # a kernel with autogroup scheduling
            assert autogroup.read_text().split()[-1] == "19"
            assert autogroup.read_text() != Path("/proc/self/autogroup").read_text()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

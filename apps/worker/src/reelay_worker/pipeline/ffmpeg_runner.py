"""The only place that spawns FFmpeg and ffprobe: own process group, low priority, a memory
limit, a stall watchdog, and the process always killed and reaped, also on cancellation."""

import asyncio
import ctypes
import json
import os
import re
import resource
import signal
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from reelay_core.binaries import binary_env
from reelay_core.media.command import OutputLayout
from reelay_core.media.errors import MediaRejected
from reelay_core.media.playlists import parse_segment_list
from reelay_core.media.probe import FORMAT_WHITELIST, explain_unreadable, ffprobe_args
from reelay_core.media.progress import ProgressParser, ProgressSample

from reelay_worker.pipeline.errors import (
    FFmpegFailed,
    FFmpegKilled,
    FFmpegOutOfMemory,
    FFmpegOutputMissing,
    FFmpegStalled,
)

STDERR_LINES = 50
_FFMPEG_CAUGHT_SIGNAL = 255  # FFmpeg traps SIGTERM/SIGINT/SIGQUIT and exits with this
# How FFmpeg, its libraries and x264 report a refused allocation.
_OUT_OF_MEMORY = re.compile(r"Cannot allocate memory|[Oo]ut of memory|malloc of size \d+ failed")

OnProgress = Callable[[ProgressSample], Awaitable[None]]


async def run_ffmpeg(
    args: list[str],
    *,
    on_progress: OnProgress | None,
    stall_timeout: float,
    nice: int = 10,
    memory_limit: int | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run FFmpeg with `-progress pipe:1` in `args`; return when it has succeeded.

    Stalled means no advance of out_time or frame for `stall_timeout` s (a hung FFmpeg
    may keep printing the same position). Raises FFmpegStalled, FFmpegFailed or FFmpegKilled.
    If the caller is cancelled or `on_progress` raises, FFmpeg's process group is killed first.
    `memory_limit` caps FFmpeg's address space in bytes: past it, allocations fail and FFmpeg
    exits with an error (FFmpegFailed) instead of the kernel's OOM killer picking a victim.
    `env` is added to its environment (the source relay's address).
    """
    proc = await _spawn(args, nice, memory_limit, env)
    tail: deque[str] = deque(maxlen=STDERR_LINES)
    stderr_task = asyncio.create_task(_keep_tail(proc.stderr, tail))
    try:
        stalled = not await _follow_progress(proc, on_progress, stall_timeout)
        if not stalled:
            try:  # stdout is closed; FFmpeg should be exiting now
                async with asyncio.timeout(stall_timeout):
                    await proc.wait()
            except TimeoutError:
                stalled = True
        if stalled:
            _kill_group(proc)
            await proc.wait()
        await stderr_task
    finally:
        if proc.returncode is None:  # cancelled, or on_progress raised
            _kill_group(proc)
            await proc.wait()
        stderr_task.cancel()

    returncode = await proc.wait()  # it has exited by now: this only reads its code
    if stalled:
        raise FFmpegStalled(stall_timeout, tail)
    if returncode == 0:
        return
    if returncode < 0:
        raise FFmpegKilled(-returncode, tail)
    if returncode == _FFMPEG_CAUGHT_SIGNAL:
        raise FFmpegKilled(None, tail)
    if memory_limit and any(_OUT_OF_MEMORY.search(line) for line in tail):
        raise FFmpegOutOfMemory(returncode, tail)
    raise FFmpegFailed(returncode, tail)


async def run_ffprobe(
    ffprobe: str,
    source: str,
    timeout: float = 30.0,  # noqa: ASYNC109 - the probe's own limit; it also kills ffprobe
    *,
    nice: int = 10,
    formats: str | None = FORMAT_WHITELIST,
    memory_limit: int | None = None,
    env: Mapping[str, str] | None = None,
    head: Callable[[], bytes] | None = None,
) -> dict[str, Any]:
    """ffprobe's JSON for a local file or the relayed upload; MediaRejected if ffprobe cannot
    read it.

    Only the containers in `formats` (and the decoders of CODEC_WHITELIST) are opened for
    uploads; None lifts that, for our own outputs. `memory_limit` and `env` as for
    `run_ffmpeg`. `head` gives the source's first bytes, to say why it was refused (by default
    read from the local file).
    """
    args = ffprobe_args(ffprobe, source, formats=formats)
    proc = await _spawn(args, nice, memory_limit, env)
    try:
        async with asyncio.timeout(timeout):
            stdout, stderr = await proc.communicate()
    except TimeoutError:
        raise FFmpegStalled(timeout) from None
    finally:
        if proc.returncode is None:
            _kill_group(proc)
            await proc.wait()

    lines = stderr.decode(errors="replace").strip().splitlines()[-STDERR_LINES:]
    if proc.returncode is not None and proc.returncode < 0:
        raise FFmpegKilled(-proc.returncode, lines)
    if proc.returncode != 0:
        first_bytes = head() if head is not None else _head(source.removeprefix("file:"))
        raise explain_unreadable(first_bytes, "\n".join(lines[-3:]))
    try:
        data = json.loads(stdout)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise MediaRejected("invalid_media", "The file could not be read as a video.")
    return data


def check_outputs(out_dir: str | Path, layout: OutputLayout) -> None:
    """Raise FFmpegOutputMissing unless the MP4, the poster and every segment each rung's list
    names are there and non-empty, and no list is empty: a failed write must not pass for a
    finished set."""
    root = Path(out_dir)
    missing = [name for name in (layout.mp4, layout.poster) if not _non_empty(root / name)]
    for listing in layout.segment_lists.values():
        path = root / listing
        try:
            segments = parse_segment_list(path.read_text(errors="replace"))
        except (OSError, ValueError):
            segments = []
        if not segments:
            missing.append(f"{listing} (no segments)")
        missing += [
            f"{path.parent.name}/{seg.name}"
            for seg in segments
            if not _non_empty(path.parent / seg.name)
        ]
    if missing:
        raise FFmpegOutputMissing(missing)


async def _spawn(
    args: list[str], nice: int, memory_limit: int | None, env: Mapping[str, str] | None
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # Own process group: killing it takes every thread and child along, and a Ctrl-C
        # on the worker's terminal reaches the worker, which then kills FFmpeg itself.
        start_new_session=True,
        preexec_fn=_child_setup(nice, os.getpid(), memory_limit),
        env={**binary_env(), **(env or {})},
    )


def _child_setup(nice: int, parent_pid: int, memory_limit: int | None) -> Callable[[], None]:
    def setup() -> None:  # runs in the child between fork and exec
        if nice:
            os.nice(nice)  # transcodes must not starve the API or the database
            _lower_autogroup()
        if memory_limit:
            # A crafted file can make a decoder allocate far beyond what its size suggests;
            # bounded here, it fails alone rather than pushing the host into the OOM killer.
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        if _prctl is not None:
            # If the worker dies without cleaning up, the kernel kills FFmpeg too, instead of
            # leaving it encoding an attempt the sweeper has already requeued.
            _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent_pid:  # the worker died before prctl took effect
                os._exit(1)

    return setup


def _lower_autogroup() -> None:
    # With autogroup scheduling (on by default on most distributions) the kernel shares the CPU
    # between sessions first and applies nice values only within one: FFmpeg, in a session of
    # its own, would get as much CPU as the API's whole session. Its session's group gets the
    # lowest weight (nice 19, ~1/70 of the API's): a transcode yields the CPU to the API and the
    # database whenever they want it and still gets all of it when they do not, since weights
    # are relative (bench/api_latency.py measures the API while two transcodes run).
    # SCHED_BATCH: a CPU-bound process that need not preempt a waking server.
    try:
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write("19")
    except OSError:  # a kernel without autogroup scheduling: os.nice alone is enough there
        pass
    os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    # Only while not yet reaped: after that the process group id could belong to someone else.
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


async def _follow_progress(
    proc: asyncio.subprocess.Process, on_progress: OnProgress | None, stall_timeout: float
) -> bool:
    """Read progress until stdout closes (True) or nothing advances in time (False)."""
    assert proc.stdout is not None
    loop = asyncio.get_running_loop()
    parser = ProgressParser()
    deadline = loop.time() + stall_timeout
    furthest_time, furthest_frame = -1.0, -1
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                line = await proc.stdout.readline()
        except TimeoutError:
            return False
        except ValueError:  # an overlong line; readline already dropped it
            continue
        if not line:
            return True
        sample = parser.feed(line.decode(errors="replace"))
        if sample is None:
            continue
        frame = sample.frame or 0
        if sample.out_time_s > furthest_time or frame > furthest_frame or sample.done:
            furthest_time = max(furthest_time, sample.out_time_s)
            furthest_frame = max(furthest_frame, frame)
            deadline = loop.time() + stall_timeout
        if on_progress is not None:
            await on_progress(sample)


async def _keep_tail(stream: asyncio.StreamReader | None, tail: deque[str]) -> None:
    # Read in chunks, not lines: a huge line must not raise, and the pipe must keep draining
    # or FFmpeg would block on a full stderr.
    assert stream is not None
    pending = b""
    while chunk := await stream.read(65536):
        *lines, pending = (pending + chunk).split(b"\n")
        pending = pending[-4096:]
        tail.extend(text for raw in lines if (text := raw.decode(errors="replace").strip()))
    if text := pending.decode(errors="replace").strip():
        tail.append(text)


def _head(path: str, size: int = 4096) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return b""


def _non_empty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False

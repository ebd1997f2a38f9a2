"""Pipeline overhead: a video through the whole stack against the same FFmpeg command run raw on
the same input, interleaved, with a per-stage breakdown of the stack's time.

    uv run python -m bench.pipeline_overhead [--seconds 20,60] [--repeats 2]

A stack (embedded servers, one API, one worker running one job at a time) whose worker's FFmpeg
is a shell wrapper that notes its arguments and its start and end (then the real FFmpeg does the
work): so the raw run repeats exactly what the worker ran, and the stack's time splits into
  dispatch        `complete` sent -> `processing` event
  before FFmpeg   `processing` -> FFmpeg starts (probe through the source relay)
  FFmpeg          the transcode itself, in the stack
  after FFmpeg    FFmpeg ends -> `completed` event (outputs stored, item finished)
Raw: the recorded command on a local copy of the source (the stack's FFmpeg reads it from
storage through the worker's source relay), outputs in a temp dir, nothing else,
at the priority the worker gives FFmpeg (nice 10 in an autogroup at nice 19, SCHED_BATCH).
Sources: 1080p30 lavfi clips of --seconds. Results: bench/results/pipeline_overhead.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_wheel
import httpx
from reelay_core.binaries import binary_env

from bench.sse_client import SSEReader
from bench.stack import (
    FFMPEG,
    Stack,
    account,
    complete,
    create,
    describe,
    machine,
    make_video,
    store_source,
    write_result,
)
from bench.stats import table

WRAPPER = """#!/bin/sh
echo "start $$ $(date +%s.%N)" >> "{log}"
printf '%s\\0' "$@" > "{log}.$$"
"{ffmpeg}" "$@"
code=$?
echo "end $$ $(date +%s.%N)" >> "{log}"
exit $code
"""
STAGES = ("dispatch", "before FFmpeg", "FFmpeg", "after FFmpeg")


def write_wrapper(directory: Path) -> tuple[Path, Path]:
    log = directory / "ffmpeg-calls.log"
    wrapper = directory / "ffmpeg"
    wrapper.write_text(WRAPPER.format(log=log, ffmpeg=FFMPEG))
    wrapper.chmod(0o755)
    return wrapper, log


def ffmpeg_runs(log: Path) -> list[tuple[float, float, list[str]]]:
    """Start, end (wall clock) and arguments of each FFmpeg run the wrapper noted."""
    starts: dict[str, float] = {}
    runs = []
    for line in log.read_text().splitlines():
        kind, pid, at = line.split()
        if kind == "start":
            starts[pid] = float(at)
        else:
            args = Path(f"{log}.{pid}").read_bytes().decode().split("\0")[:-1]
            runs.append((starts.pop(pid), float(at), args))
    if not runs:
        raise RuntimeError("the worker's FFmpeg runs were not recorded")
    return runs


async def through_stack(stack: Stack, auth: dict[str, str], clip: Path) -> dict[str, float]:
    """Wall-clock times of the item's milestones, from `complete` sent to `completed`."""
    async with httpx.AsyncClient(base_url=stack.url, timeout=600) as api:
        media = await create(api, auth, clip)
        await store_source(media, clip)
        reader = SSEReader()
        marks: dict[str, float] = {}
        async with api.stream("GET", f"/videos/{media['id']}/events", headers=auth) as stream:
            chunks = stream.aiter_raw()
            reader.headers_done = True
            while not any(e.data for e in reader.feed(await anext(chunks))):
                pass
            marks["complete"] = time.time()
            await complete(api, auth, media["id"])
            async for chunk in chunks:
                at = time.time()
                for event in reader.feed(chunk):
                    assert event.data is not None
                    if event.data.get("status") == "processing":
                        marks.setdefault("processing", at)
                    if event.event in {"completed", "failed", "canceled"}:
                        if event.event != "completed":
                            raise RuntimeError(f"the job ended {event.event}: {event.data}")
                        marks["completed"] = at
                        return marks
    raise RuntimeError("the stream ended before the job did")


def paths_under(args: list[str], root: str) -> set[Path]:
    return {Path(m) for arg in args for m in re.findall(re.escape(root) + r"[^\s|\[\]'\"]*", arg)}


def worker_priority() -> None:
    """The priority the worker gives FFmpeg (ffmpeg_runner): on a machine busy with anything
    else, raw and stack runs then compete alike."""
    os.nice(10)
    with open("/proc/self/autogroup", "w") as autogroup:
        autogroup.write("19")
    os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def raw_run(args: list[str], clip: Path, work: Path) -> float:
    """The worker's recorded FFmpeg command again, on a local copy of the source (the worker's
    reads it through the source relay)."""
    job_dir = str(Path(args[-1]).parent.parent)  # the last output, <job dir>/out/poster.jpg
    run_dir = work / "raw"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()
    replayed = [arg.replace(job_dir, str(run_dir)) for arg in args]
    replayed[replayed.index("-i") + 1] = f"file:{run_dir / clip.name}"
    replayed[replayed.index("-protocol_whitelist") + 1] = "file"
    for path in paths_under(replayed, str(run_dir)):
        path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(clip, run_dir / clip.name)
    started = time.monotonic()
    subprocess.run(
        [FFMPEG, *replayed[1:]],
        check=True,
        capture_output=True,
        env=binary_env(),
        start_new_session=True,
        preexec_fn=worker_priority,
    )
    return time.monotonic() - started


def one_round(stack: Stack, auth: dict[str, str], clip: Path, log: Path, work: Path) -> dict:
    log.write_text("")
    marks = asyncio.run(through_stack(stack, auth, clip))
    runs = ffmpeg_runs(log)
    _, _, transcode_args = max(runs, key=lambda run: run[1] - run[0])
    raw = raw_run([FFMPEG, *transcode_args], clip, work)
    stages = {
        "dispatch": marks["processing"] - marks["complete"],
        "before FFmpeg": runs[0][0] - marks["processing"],
        "FFmpeg": sum(end - start for start, end, _ in runs),
        "after FFmpeg": marks["completed"] - runs[-1][1],
    }
    return {
        "stack_s": marks["completed"] - marks["complete"],
        "raw_s": raw,
        "stages_s": stages,
        "ffmpeg_runs": len(runs),
    }


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", default="20,60", help="source lengths, comma-separated")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    where = machine()
    print(describe(where), flush=True)
    work = Path(tempfile.mkdtemp(prefix="reelay-pipeline-"))
    wrapper, log = write_wrapper(work)
    lengths = [float(s) for s in args.seconds.split(",")]
    clips = {s: make_video(width=1920, height=1080, seconds=s, fps=30) for s in lengths}
    warm_up = make_video(width=1920, height=1080, seconds=2, fps=30)
    results: list[dict[str, Any]] = []
    try:
        with Stack(
            apis=1,
            workers=1,
            worker_concurrency=1,
            ffmpeg=str(wrapper),
            ffprobe=str(ffmpeg_wheel.FFPROBE_PATH),
        ) as stack:
            auth = asyncio.run(_account(stack.url))
            one_round(stack, auth, warm_up, log, work)  # imports, connections, first FFmpeg
            for seconds in lengths:
                rounds = [one_round(stack, auth, clips[seconds], log, work)
                          for _ in range(args.repeats)]  # fmt: skip
                results.append({"source_seconds": seconds, "rounds": rounds})
                print(f"{seconds:g} s source: done", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = []
    for r in results:
        rounds = r["rounds"]
        stack_s, raw_s = (
            median([x["stack_s"] for x in rounds]),
            median([x["raw_s"] for x in rounds]),
        )
        stages = {k: median([x["stages_s"][k] for x in rounds]) for k in STAGES}
        r["median"] = {"stack_s": stack_s, "raw_s": raw_s, "stages_s": stages,
                       "fixed_s": stack_s - stages["FFmpeg"], "ratio": stack_s / raw_s}  # fmt: skip
        rows.append([f"{r['source_seconds']:g} s", len(rounds), f"{raw_s:.2f}", f"{stack_s:.2f}",
                     f"{stack_s / raw_s:.3f}", *(f"{stages[k]:.3f}" for k in STAGES),
                     f"{stack_s - stages['FFmpeg']:.3f}"])  # fmt: skip
    print()
    print(table(["source", "rounds", "raw FFmpeg s", "stack s", "stack/raw",
                 *(f"{k} s" for k in STAGES), "fixed cost s"], rows))  # fmt: skip
    path = write_result("pipeline_overhead", {"machine": where, "sources": results})
    worst = max(results, key=lambda r: r["median"]["ratio"])
    print(
        f"\npipeline: stack/raw {worst['median']['ratio']:.3f} at worst "
        f"({worst['source_seconds']:g} s source; goal <= 1.03), fixed cost "
        + ", ".join(f"{r['median']['fixed_s']:.2f} s ({r['source_seconds']:g} s)" for r in results)
        + f" (goal <= 0.3 s); {path}"
    )


async def _account(url: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as api:
        return await account(api)


if __name__ == "__main__":
    os.umask(0o022)  # the worker (another process) writes to the wrapper's log here
    main()

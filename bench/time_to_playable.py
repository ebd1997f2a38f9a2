"""Time to playable: from `POST /complete` to `playable`, to the first frame a player decodes,
and to `completed`, for 1080p sources of several lengths (real stack).

    uv run python -m bench.time_to_playable [--lengths 10 60 300] [--runs 5 3 1]

One stack (embedded servers, one API, one worker) on private ports in a temp dir. For each
length a 1080p30 lavfi clip with a tone (made once, before any timing); each run uploads it,
follows its SSE stream, and times from just before `complete` is sent to (a) the first event
whose data says `playable`, (b) the `completed` event and (c) the first frame decoded by
FFmpeg playing the master playlist through the API (bearer header, from the first segment),
started as soon as `playable` is seen. Runs are one after another: an idle worker, as a
single upload would find it. Each run also polls the top rung's playlist through the API
every 0.25 s, to see when each segment is listed and so (d) how long a player that starts at
that first frame and plays in real time would wait for segments in all (`player_waits`).
The first run of each length also records a timeline: the item's status and stage changes,
the segments as they are listed, and when the poster and the MP4 can be downloaded.
Results: bench/results/time_to_playable.json (rows for bench/charts.py); docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from reelay_core.binaries import binary_env
from reelay_core.media.playlists import segment_uris

from bench.sse_client import SSEReader
from bench.stack import (
    FFMPEG,
    Stack,
    create,
    describe,
    machine,
    make_video,
    store_source,
    write_result,
)
from bench.stack import account as new_account
from bench.stats import percentile, table

GOAL_S = 2.0
TERMINAL = {"completed", "failed", "canceled"}


@dataclass
class Run:
    playable_s: float = float("nan")
    completed_s: float = float("nan")
    first_frame_s: float = float("nan")
    waits_s: float = float("nan")
    timeline: list[tuple[float, str]] = field(default_factory=list)
    # When the top rung's playlist first listed segment i, and the final segment lengths.
    listed_s: list[float] = field(default_factory=list)
    durations_s: list[float] = field(default_factory=list)


async def first_frame(url: str, auth: dict[str, str]) -> None:
    """FFmpeg as a player: the master playlist's first video stream, until one frame decodes."""
    player = await asyncio.create_subprocess_exec(
        FFMPEG, "-v", "error", "-nostdin",
        "-headers", f"Authorization: {auth['Authorization']}\r\n",
        "-live_start_index", "0", "-i", url,
        "-map", "0:v:0", "-frames:v", "1", "-f", "null", "-",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=binary_env(),
    )  # fmt: skip
    _, errors = await player.communicate()
    if player.returncode != 0:
        raise RuntimeError(f"the player failed: {errors.decode()[-500:]}")


async def watch_segments(
    api: httpx.AsyncClient, auth: dict[str, str], media_id: str, run: Run, started: float,
    *, timeline: bool,
) -> None:  # fmt: skip
    """Until the top rung's playlist ends: when it lists each segment; with `timeline`, also
    when the poster and the MP4 can first be downloaded."""
    ended = False
    waiting = {"poster", "mp4"} if timeline else set()
    while not ended or waiting:
        for rendition in sorted(waiting):
            answer = await api.get(
                f"/videos/{media_id}/download", params={"rendition": rendition}, headers=auth
            )
            if answer.status_code == 307:
                waiting.discard(rendition)
                run.timeline.append((time.monotonic() - started, f"{rendition} downloadable"))
        master = await api.get(f"/videos/{media_id}/hls/master.m3u8", headers=auth)
        if master.status_code == 200:
            top = segment_uris(master.text)[0]
            variant = await api.get(f"/videos/{media_id}/hls/{top}", headers=auth)
            at = time.monotonic() - started
            count = len(segment_uris(variant.text))
            ended = "#EXT-X-ENDLIST" in variant.text
            if timeline and (count != len(run.listed_s) or ended):
                kind = "final (VOD)" if ended else "growing (EVENT)"
                run.timeline.append((at, f"{top} {kind}: {count} segments"))
            run.listed_s += [at] * (count - len(run.listed_s))
            if ended:
                run.durations_s = [
                    float(line.removeprefix("#EXTINF:").split(",")[0])
                    for line in variant.text.splitlines()
                    if line.startswith("#EXTINF:")
                ]
        await asyncio.sleep(0.25)


def player_waits(start: float, listed: list[float], durations: list[float]) -> float:
    """Seconds a player that starts playing at `start` in real time spends waiting for
    segments not yet listed (it needs segment i once it has played the ones before it)."""
    clock, waited = start, 0.0
    for ready, duration in zip(listed, durations, strict=True):
        if ready > clock:
            waited += ready - clock
            clock = ready
        clock += duration
    return waited


def read_part(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as source:
        source.seek(offset)
        return source.read(size)


async def store(media: dict[str, Any], path: Path) -> dict[str, Any]:
    """Store the source as the API said (a form POST, or parts above the multipart threshold,
    as a 5 min 1080p source is); the body `complete` then takes."""
    upload = media["upload"]
    if upload["method"] == "POST":
        await store_source(media, path)
        return {}
    parts = []
    async with httpx.AsyncClient(timeout=300) as storage:
        for part in upload["parts"]:
            offset = (part["part_number"] - 1) * upload["part_size"]
            content = await asyncio.to_thread(read_part, path, offset, part["size"])
            stored = await storage.put(part["url"], content=content)
            stored.raise_for_status()
            parts.append({"part_number": part["part_number"], "etag": stored.headers["etag"]})
    return {"parts": parts}


async def one_run(
    api: httpx.AsyncClient, auth: dict[str, str], clip: Path, *, timeline: bool
) -> Run:
    media = await create(api, auth, clip)
    media_id = media["id"]
    body = await store(media, clip)
    run, reader = Run(), SSEReader()
    tasks: list[asyncio.Task[None]] = []
    async with api.stream("GET", f"/videos/{media_id}/events", headers=auth) as stream:
        chunks = stream.aiter_raw()
        reader.headers_done, reader.status = True, stream.status_code
        while not any(e.data for e in reader.feed(await anext(chunks))):
            pass  # the item's current state: subscribed
        started = time.monotonic()
        queued = await api.post(f"/videos/{media_id}/complete", json=body, headers=auth)
        queued.raise_for_status()
        last: tuple[Any, Any] | None = None
        try:
            async for chunk in chunks:
                at = time.monotonic() - started
                for event in reader.feed(chunk):
                    data = event.data or {}
                    if timeline and (data.get("status"), data.get("stage")) != last:
                        last = (data.get("status"), data.get("stage"))
                        stage = f", {last[1]}" if last[1] else ""
                        run.timeline.append((at, f"{last[0]}{stage}"))
                    if data.get("playable") and math.isnan(run.playable_s):
                        run.playable_s = at
                        run.timeline.append((at, "playable"))
                        url = f"{api.base_url}/videos/{media_id}/hls/master.m3u8"
                        tasks.append(asyncio.create_task(timed_frame(url, auth, run, started)))
                        tasks.append(
                            asyncio.create_task(
                                watch_segments(api, auth, media_id, run, started, timeline=timeline)
                            )
                        )
                    if event.event in TERMINAL:
                        if event.event != "completed":
                            raise RuntimeError(f"the job ended {event.event}: {data}")
                        run.completed_s = at
                        await asyncio.wait_for(tasks[0], 120)
                        await asyncio.wait_for(tasks[1], 30)  # until the final playlist
                        run.waits_s = player_waits(run.first_frame_s, run.listed_s, run.durations_s)
                        run.timeline.sort()
                        return run
        finally:
            for task in tasks:
                task.cancel()
    raise RuntimeError("the stream ended before the job did")


async def timed_frame(url: str, auth: dict[str, str], run: Run, started: float) -> None:
    await first_frame(url, auth)
    run.first_frame_s = time.monotonic() - started
    run.timeline.append((run.first_frame_s, "first frame decoded by the player"))


async def measure(stack: Stack, clips: dict[int, Path], runs: dict[int, int]) -> dict[int, list]:
    results: dict[int, list[Run]] = {}
    async with httpx.AsyncClient(base_url=stack.url, timeout=120) as api:
        auth = await new_account(api)
        await one_run(api, auth, clips[min(clips)], timeline=False)  # warm-up
        for seconds, clip in clips.items():
            results[seconds] = []
            for n in range(runs[seconds]):
                run = await one_run(api, auth, clip, timeline=n == 0)
                results[seconds].append(run)
                print(
                    f"{seconds:>4} s source, run {n + 1}: playable {run.playable_s:.2f} s, "
                    f"first frame {run.first_frame_s:.2f} s, completed {run.completed_s:.1f} s, "
                    f"a player from then waits {run.waits_s:.2f} s",
                    flush=True,
                )
    return results


def p50(values: list[float]) -> str:
    return f"{percentile(values, 50):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 60, 300])
    parser.add_argument(
        "--runs",
        type=int,
        nargs="+",
        default=[5, 3, 1],
        help="runs per length, in the order of --lengths",
    )
    parser.add_argument("--sources", type=Path, default=None,
                        help="a directory to keep the clips in, for reuse")  # fmt: skip
    args = parser.parse_args()
    if len(args.runs) != len(args.lengths):
        parser.error("give one --runs count per --lengths value")

    work = args.sources or Path(tempfile.mkdtemp(prefix="reelay-ttp-"))
    work.mkdir(parents=True, exist_ok=True)
    clips = {s: make_video(work, width=1920, height=1080, seconds=s) for s in args.lengths}
    where = machine()
    print(describe(where), flush=True)
    with Stack(apis=1, workers=1) as stack:
        results = asyncio.run(
            measure(stack, clips, dict(zip(args.lengths, args.runs, strict=True)))
        )
    after = machine()

    rows = []
    for seconds, runs in results.items():
        rows.append({
            "source_seconds": seconds,
            "playable_s": [r.playable_s for r in runs],
            "completed_s": [r.completed_s for r in runs],
            "first_frame_s": [r.first_frame_s for r in runs],
            "player_waits_s": [r.waits_s for r in runs],
            "segments_s": runs[0].durations_s,
            "timeline": runs[0].timeline,
        })  # fmt: skip
    print()
    print(table(
        ["source", "runs", "playable p50 s", "playable max s", "first frame p50 s",
         "completed p50 s", "player waits p50 s"],
        [[f"{r['source_seconds']} s", len(r["playable_s"]), p50(r["playable_s"]),
          f"{max(r['playable_s']):.2f}", p50(r["first_frame_s"]), p50(r["completed_s"]),
          p50(r["player_waits_s"])]
         for r in rows],
    ))  # fmt: skip
    path = write_result(
        "time_to_playable",
        {"machine": where, "machine_after": after, "date": where.date, "goal_s": GOAL_S,
         "rows": rows},
    )  # fmt: skip
    worst = max(percentile(r["playable_s"], 50) for r in rows)
    verdict = "met" if worst <= GOAL_S else "missed"
    print(
        f"\ntime to playable: p50 {' / '.join(p50(r['playable_s']) for r in rows)} s for "
        f"{' / '.join(str(r['source_seconds']) for r in rows)} s sources (goal <= {GOAL_S:g} s: "
        f"{verdict}); completed p50 {' / '.join(p50(r['completed_s']) for r in rows)} s; {path}"
    )


if __name__ == "__main__":
    main()

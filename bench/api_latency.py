"""API latency and throughput under load, idle and while two 1080p transcodes run.

    uv run python -m bench.api_latency [--seconds 15] [--connections 16] [--no-baseline]

wrk (installed with apt-get if missing, see bench/wrk.py) sends authenticated
`GET /videos/{id}` and `GET /videos` from --connections connections to one API process of the
real stack (embedded servers, one API, one worker running 2 jobs at once):
  idle   nothing else running
  busy   while two 1080p transcodes run (both in their encoding stage throughout)
Variants: `current` (FFmpeg at nice 10 in a session whose autogroup is lowered to nice 19,
SCHED_BATCH) and `baseline` (as before that: the worker's FFmpeg is a wrapper that puts its
autogroup back to nice 0 and its policy to SCHED_OTHER, so it is niced only within a session of
its own, which autogroup scheduling ignores). Same code otherwise.
Results: bench/results/api_latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import ffmpeg as ffmpeg_wheel
import httpx

from bench import wrk
from bench.stack import (
    FFMPEG,
    Stack,
    account,
    describe,
    machine,
    make_video,
    upload,
    write_result,
)
from bench.stats import ms, table

BASELINE_FFMPEG = """#!/bin/sh
echo 0 > /proc/self/autogroup
exec chrt --other 0 "{ffmpeg}" "$@"
"""
TERMINAL = {"completed", "failed", "canceled"}


async def prepare(url: str) -> tuple[dict[str, str], str]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        auth = await account(http)
        body = {"filename": "a.mp4", "content_type": "video/mp4", "size": 1000}
        created = await http.post("/videos", json=body, headers=auth)
        created.raise_for_status()
        return auth, created.json()["id"]


async def start_transcodes(url: str, auth: dict[str, str], clip: Path) -> list[str]:
    """Two transcodes, returned once both are encoding."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        ids = [await upload(http, auth, clip) for _ in range(2)]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            items = [(await http.get(f"/videos/{i}", headers=auth)).json() for i in ids]
            if all(i["status"] == "processing" and i.get("stage") == "transcode" for i in items):
                return ids
            if any(i["status"] in TERMINAL for i in items):
                raise RuntimeError(f"a transcode ended before the load: {items}")
            await asyncio.sleep(0.5)
    raise RuntimeError("the transcodes did not start")


async def still_encoding(url: str, auth: dict[str, str], ids: list[str]) -> bool:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        items = [(await http.get(f"/videos/{i}", headers=auth)).json() for i in ids]
    return all(i["status"] == "processing" for i in items)


def load(stack: Stack, auth: dict[str, str], media_id: str, args: argparse.Namespace) -> dict:
    reports = {}
    for name, path in (("item", f"/videos/{media_id}"), ("list", "/videos")):
        report = wrk.run(
            f"{stack.url}{path}",
            connections=args.connections,
            seconds=args.seconds,
            headers=auth,
        )
        reports[name] = report.__dict__
    return reports


def baseline_ffmpeg(directory: Path) -> dict[str, str]:
    wrapper = directory / "ffmpeg"
    wrapper.write_text(BASELINE_FFMPEG.format(ffmpeg=FFMPEG))
    wrapper.chmod(0o755)
    return {"ffmpeg": str(wrapper), "ffprobe": str(ffmpeg_wheel.FFPROBE_PATH)}


def run_variant(name: str, ffmpeg: dict[str, str], clip: Path, args: argparse.Namespace) -> dict:
    with Stack(apis=1, workers=1, worker_concurrency=2, **ffmpeg) as stack:
        auth, media_id = asyncio.run(prepare(stack.url))
        load(stack, auth, media_id, argparse.Namespace(**{**vars(args), "seconds": 3}))  # warm
        idle = load(stack, auth, media_id, args)
        ids = asyncio.run(start_transcodes(stack.url, auth, clip))
        busy = load(stack, auth, media_id, args)
        if not asyncio.run(still_encoding(stack.url, auth, ids)):
            raise RuntimeError("a transcode ended during the load: make --clip-seconds longer")
    print(f"{name}: done", flush=True)
    return {"variant": name, "idle": idle, "busy": busy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--clip-seconds", type=float, default=40)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    wrk.ensure_wrk()

    where = machine()
    print(describe(where), flush=True)
    work = Path(tempfile.mkdtemp(prefix="reelay-api-latency-"))
    clip = make_video(width=1920, height=1080, seconds=args.clip_seconds, fps=30)
    variants: list[tuple[str, dict[str, str]]] = [("current", {})]
    if not args.no_baseline:
        variants.append(("baseline", baseline_ffmpeg(work)))
    results = [run_variant(name, env, clip, args) for name, env in variants]

    rows = []
    for r in results:
        for endpoint in ("item", "list"):
            idle, busy = r["idle"][endpoint], r["busy"][endpoint]
            rows.append([
                r["variant"], "GET /videos/{id}" if endpoint == "item" else "GET /videos",
                f"{idle['requests_per_s']:.0f}", ms(idle["latency_s"]["p50"]),
                ms(idle["latency_s"]["p99"]), f"{busy['requests_per_s']:.0f}",
                ms(busy["latency_s"]["p50"]), ms(busy["latency_s"]["p99"]),
                f"{busy['latency_s']['p99'] / idle['latency_s']['p99']:.2f}",
                idle["errors"] + busy["errors"],
            ])  # fmt: skip
    print()
    print(table(["variant", "endpoint", "idle req/s", "idle p50 ms", "idle p99 ms",
                 "busy req/s", "busy p50 ms", "busy p99 ms", "busy/idle p99", "errors"],
                rows))  # fmt: skip
    path = write_result(
        "api_latency",
        {"machine": where, "connections": args.connections, "seconds": args.seconds,
         "variants": results},
    )  # fmt: skip
    now = results[0]
    item_idle, item_busy = now["idle"]["item"], now["busy"]["item"]
    print(
        f"\napi GET /videos/{{id}}: {item_idle['requests_per_s']:.0f} req/s idle (goal >= 2000), "
        f"p99 {ms(item_idle['latency_s']['p99'])} ms idle (< 50), "
        f"{ms(item_busy['latency_s']['p99'])} ms with two transcodes "
        f"({item_busy['latency_s']['p99'] / item_idle['latency_s']['p99']:.2f}x, <= 1.5x); {path}"
    )


if __name__ == "__main__":
    main()

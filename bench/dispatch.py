"""Dispatch latency: from `POST /complete` to the item's first `processing` event (real stack).

    uv run python -m bench.dispatch [--jobs 20] [--baseline REV | --no-baseline]

For each variant a stack (embedded servers, one API, one worker) on private ports; each job is a
1 s 320x240 clip: created, stored, an SSE client on its events, then `complete` is timed to the
`processing` event, and the job runs to its end before the next one starts (an idle worker,
as the goal is stated). Then the stack idles for --idle seconds while Redis counts the commands
it is sent (INFO commandstats): what an idle worker costs Redis.
Variants: `current` (the working tree) and `baseline` (the worker from the source at
--baseline, default the commit before the wake-up on enqueue, on its PYTHONPATH: arq polling
every 0.5 s; the API is the working tree's in both).
Results: bench/results/dispatch.json; docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from bench.restart import source_at
from bench.sse_client import SSEReader
from bench.stack import (
    Stack,
    complete,
    create,
    describe,
    machine,
    make_video,
    store_source,
    write_result,
)
from bench.stack import account as new_account
from bench.stats import histogram, ms, percentile, summary, table

BEFORE_WAKE_UP = "88e8dcc^"


async def one_job(
    api: httpx.AsyncClient, auth: dict[str, str], clip: Path
) -> tuple[float, float, float]:
    """Seconds from sending `complete` to its answer, to the `queued` event and to the
    `processing` event."""
    media = await create(api, auth, clip)
    await store_source(media, clip)
    reader = SSEReader()
    async with api.stream("GET", f"/videos/{media['id']}/events", headers=auth) as stream:
        chunks = stream.aiter_raw()
        reader.headers_done, reader.status = True, stream.status_code
        while not any(e.data for e in reader.feed(await anext(chunks))):
            pass  # the item's current state: subscribed
        started = time.monotonic()
        await complete(api, auth, media["id"])
        answered = time.monotonic() - started
        queued = dispatched = None
        async for chunk in chunks:
            at = time.monotonic() - started
            for event in reader.feed(chunk):
                assert event.data is not None
                status = event.data.get("status")
                if queued is None and status == "queued":
                    queued = at
                if dispatched is None and status == "processing":
                    dispatched = at
                if event.event in {"completed", "failed", "canceled"}:
                    assert event.event == "completed", event
                    assert queued is not None and dispatched is not None
                    return answered, queued, dispatched
    raise RuntimeError("the stream ended before the job did")


async def redis_commands(url: str) -> int:
    redis = Redis.from_url(url)
    try:
        stats = await redis.info("stats")
        return int(stats["total_commands_processed"])
    finally:
        await redis.aclose()


async def measure(stack: Stack, clip: Path, jobs: int, idle: float) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.url, timeout=120) as api:
        auth = await new_account(api)
        await one_job(api, auth, clip)  # warm-up: imports, connections, the first FFmpeg
        timings = [await one_job(api, auth, clip) for _ in range(jobs)]
    await asyncio.sleep(2)  # the last job's tail (results, progress) settles
    redis_url = str(stack.settings.redis_url)
    before, started = await redis_commands(redis_url), time.monotonic()
    await asyncio.sleep(idle)
    after, elapsed = await redis_commands(redis_url), time.monotonic() - started
    # Minus the INFO call that read the count after `before`.
    return {
        "latencies_s": [processing for _, _, processing in timings],
        "complete_answered_s": [answered for answered, _, _ in timings],
        "queued_event_s": [queued for _, queued, _ in timings],
        "idle_redis_commands_per_s": (after - before - 1) / elapsed,
    }


def run_variant(name: str, env: dict[str, str], clip: Path, args: argparse.Namespace) -> dict:
    with Stack(apis=1, workers=1, worker_env=env) as stack:
        result = asyncio.run(measure(stack, clip, args.jobs, args.idle))
    result["variant"] = name
    result["summary"] = summary(result["latencies_s"])
    print(f"{name}: done", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle Redis count")
    parser.add_argument("--baseline", default=BEFORE_WAKE_UP)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    where = machine()
    print(describe(where), flush=True)
    work = Path(tempfile.mkdtemp(prefix="reelay-dispatch-"))
    clip = make_video(width=320, height=240, seconds=1, fps=15)
    variants = [("current", {})]
    if not args.no_baseline:
        variants.append(("baseline", source_at(args.baseline, work / "baseline-source")))
    results = [run_variant(name, env, clip, args) for name, env in variants]

    rows = [
        [r["variant"], r["summary"]["n"], *(ms(r["summary"][k]) for k in ("min", "p50", "p95",
         "p99", "max")), ms(percentile(r["complete_answered_s"], 50)),
         ms(percentile(r["queued_event_s"], 50)), f"{r['idle_redis_commands_per_s']:.1f}"]
        for r in results
    ]  # fmt: skip
    print()
    print(table(["variant", "jobs", "min ms", "p50 ms", "p95 ms", "p99 ms", "max ms",
                 "complete answered p50 ms", "queued event p50 ms", "idle Redis cmds/s"],
                rows))  # fmt: skip
    for r in results:
        r["histogram_10ms"] = histogram(r["latencies_s"], 0.010)
    path = write_result("dispatch", {"machine": where, "jobs": args.jobs, "variants": results})
    now = results[0]["summary"]
    print(
        f"\ndispatch complete->processing: p50 {ms(now['p50'])} ms, p95 {ms(now['p95'])} ms "
        f"(goal < 30 / < 100 ms); idle Redis {results[0]['idle_redis_commands_per_s']:.1f} "
        f"commands/s; {path}"
    )


if __name__ == "__main__":
    main()

"""SSE fan-out: N clients on one item's `/events`, spread over several client processes and over
--apis API processes of the real stack.

    uv run python -m bench.sse_fanout --clients 5000 [--apis 1] [--procs 4] [--events 20]
    uv run python -m bench.sse_fanout --clients 1000,2000,5000   # one stack per N, in turn

Per N: the stack starts (embedded servers, --apis APIs, one worker), one account creates one
video, and --procs client processes (their open-files limit raised) connect N streams. Then:
  idle    --idle s with every stream open and nothing happening: API CPU (% of one core) and
          RSS per connection; then --probe s of `GET /videos/{id}` every 50 ms, also before the
          streams open (p50/p99; 20 s include a heartbeat).
  events  --events events recorded as the worker records them (Postgres, then Redis publish)
          every --interval s, the last one terminal, which ends every stream. Each client
          notes when each event id arrives (wall clock, one machine).
Per event: delay of each client after the first one to get it; its p99 and its maximum (the
spread). Also from publish to arrival. Results: bench/results/sse_fanout.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from typing import Any

import httpx
import psutil
from redis.asyncio import Redis
from reelay_core import events
from reelay_core.db.session import make_engine, make_session_factory

from bench.sse_client import ids_in
from bench.stack import Stack, account, describe, machine, write_result
from bench.stats import ms, percentile, summary, table

# -- a client process -----------------------------------------------------------------------


async def one_stream(
    host: str, port: int, request: bytes, seen: dict[int, list[float]], opened: asyncio.Event
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request)
    rest = b""
    try:
        first = True
        while chunk := await reader.read(65536):
            at = time.time()
            if first:
                opened.set()
                first = False
            ids, rest = ids_in(rest + chunk)
            for event_id in ids:
                seen[event_id].append(at)
    finally:
        writer.close()


async def client(config: dict[str, Any]) -> dict[int, list[float]]:
    """Open config['count'] streams, spread over the API URLs; arrival times by event id."""
    seen: dict[int, list[float]] = defaultdict(list)
    urls = [httpx.URL(url) for url in config["urls"]]
    gate = asyncio.Semaphore(100)  # connects at once: stays under the server's listen backlog
    tasks = []

    async def connect(n: int) -> None:
        url = urls[n % len(urls)]
        request = (
            f"GET {config['path']} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
            f"Authorization: Bearer {config['token']}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        opened = asyncio.Event()
        async with gate:
            task = asyncio.create_task(one_stream(url.host, url.port or 80, request, seen, opened))
            tasks.append(task)
            await asyncio.wait(
                [task, asyncio.create_task(opened.wait())], return_when="FIRST_COMPLETED"
            )

    await asyncio.gather(
        *(connect(n) for n in range(config["offset"], config["offset"] + config["count"]))
    )
    print("connected", flush=True)
    await asyncio.gather(*tasks)
    return seen


def client_main() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    config = json.loads(sys.stdin.readline())
    try:
        import uvloop

        seen = uvloop.run(client(config))
    except ImportError:
        seen = asyncio.run(client(config))
    with open(config["out"], "w") as out:
        json.dump(seen, out)


# -- the driver -----------------------------------------------------------------------------


class Clients:
    def __init__(self, procs: int, total: int, base: dict[str, Any]) -> None:
        self.procs = []
        self.outs = [f"{base['out_dir']}/client{n}.json" for n in range(procs)]
        share, extra = divmod(total, procs)
        offset = 0
        for n in range(procs):
            count = share + (1 if n < extra else 0)
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.sse_fanout", "--client"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert proc.stdin is not None
            proc.stdin.write(
                json.dumps({**base, "count": count, "offset": offset, "out": self.outs[n]}) + "\n"
            )
            proc.stdin.close()
            offset += count
            self.procs.append(proc)

    def wait_connected(self) -> None:
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "connected":
                raise RuntimeError(f"a client process failed: {line!r}")

    def results(self) -> dict[int, list[float]]:
        merged: dict[int, list[float]] = defaultdict(list)
        for proc, out in zip(self.procs, self.outs, strict=True):
            if proc.wait(timeout=300) != 0:
                raise RuntimeError(f"a client process exited with {proc.returncode}")
            with open(out) as results:
                decoded = json.load(results)
            for event_id, times in decoded.items():
                merged[int(event_id)].extend(times)
        return merged

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()


async def subscriptions(urls: list[str]) -> float:
    total = 0.0
    async with httpx.AsyncClient(timeout=30) as http:
        for url in urls:
            for line in (await http.get(f"{url}/metrics")).text.splitlines():
                if line.startswith("reelay_sse_subscriptions "):
                    total += float(line.split()[1])
    return total


async def gc_collections(urls: list[str]) -> dict[str, float]:
    """Python's garbage collections so far, by generation, over the API processes."""
    counts: dict[str, float] = defaultdict(float)
    async with httpx.AsyncClient(timeout=30) as http:
        for url in urls:
            for line in (await http.get(f"{url}/metrics")).text.splitlines():
                if line.startswith("python_gc_collections_total{"):
                    generation = line.split('generation="')[1].split('"')[0]
                    counts[generation] += float(line.split()[-1])
    return dict(counts)


async def probe(url: str, path: str, auth: dict[str, str], seconds: float) -> list[float]:
    """A GET every 50 ms for `seconds` (past a heartbeat, at 20 s), each timed: what another
    client of the API sees meanwhile."""
    timings = []
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        end = loop.time() + seconds
        while loop.time() < end:
            started = time.perf_counter()
            answer = await http.get(path, headers=auth)
            timings.append(time.perf_counter() - started)
            answer.raise_for_status()
            await asyncio.sleep(0.05)
    return timings


def cpu_seconds(procs: list[psutil.Process]) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in procs)


def rss(procs: list[psutil.Process]) -> int:
    return sum(p.memory_info().rss for p in procs)


async def emit(stack: Stack, media_id: str, count: int, interval: float) -> dict[int, float]:
    """Record and publish `count` events as the worker does; publish time by seq."""
    engine = make_engine(str(stack.settings.database_url), pool_size=2, name="bench")
    sessions = make_session_factory(engine)
    redis = Redis.from_url(str(stack.settings.redis_url))
    published: dict[int, float] = {}
    try:
        for n in range(count):
            last = n == count - 1
            changes: dict[str, Any] = (
                {"status": "canceled", "progress": 0.0}
                if last
                else {"progress": 100.0 * n / count, "stage": "transcode", "eta_seconds": 9}
            )
            async with sessions() as db:
                record = await events.record(
                    db, uuid.UUID(media_id), "canceled" if last else "progress", **changes
                )
                await db.commit()
            assert record is not None
            published[record.seq] = time.time()
            await events.publish(redis, record)
            await asyncio.sleep(interval)
    finally:
        await redis.aclose()
        await engine.dispose()
    return published


def run_one(n: int, args: argparse.Namespace) -> dict[str, Any]:
    with Stack(apis=args.apis, workers=1) as stack:
        api_procs = [psutil.Process(api.pid) for api in stack.apis]
        print(f"N={n}: API pids {' '.join(str(p.pid) for p in api_procs)}", flush=True)

        async def setup() -> tuple[dict[str, str], str]:
            async with httpx.AsyncClient(base_url=stack.url, timeout=60) as http:
                auth = await account(http)
                body = {"filename": "a.mp4", "content_type": "video/mp4", "size": 1000}
                created = await http.post("/videos", json=body, headers=auth)
                created.raise_for_status()
                return auth, created.json()["id"]

        auth, media_id = asyncio.run(setup())
        item = f"/videos/{media_id}"
        before = asyncio.run(probe(stack.url, item, auth, args.probe))
        rss_before = rss(api_procs)
        base = {
            "urls": stack.api_urls,
            "path": f"{item}/events",
            "token": auth["Authorization"].removeprefix("Bearer "),
            "out_dir": str(stack.root),
        }
        clients = Clients(args.procs, n, base)
        try:
            started = time.monotonic()
            clients.wait_connected()

            async def all_subscribed() -> None:
                while await subscriptions(stack.api_urls) < n:  # noqa: ASYNC110 - another process
                    await asyncio.sleep(0.5)

            asyncio.run(all_subscribed())
            connect_s = time.monotonic() - started
            time.sleep(2)  # connection set-up work done
            rss_open = rss(api_procs)
            cpu0, t0 = cpu_seconds(api_procs), time.monotonic()
            time.sleep(args.idle)
            idle_cpu = (cpu_seconds(api_procs) - cpu0) / (time.monotonic() - t0)
            during = asyncio.run(probe(stack.url, item, auth, args.probe))
            cpu1, t1 = cpu_seconds(api_procs), time.monotonic()
            gc_before = asyncio.run(gc_collections(stack.api_urls))
            published = asyncio.run(emit(stack, media_id, args.events, args.interval))
            gc_after = asyncio.run(gc_collections(stack.api_urls))
            seen = clients.results()
            fanout_cpu = (cpu_seconds(api_procs) - cpu1) / (time.monotonic() - t1)
        finally:
            clients.kill()

    per_event = []
    for seq, at in sorted(published.items()):
        times = sorted(seen.get(seq, []))
        if not times:
            per_event.append({"seq": seq, "received": 0})
            continue
        first = times[0]
        delays = [t - first for t in times]
        per_event.append(
            {
                "seq": seq,
                "received": len(times),
                "p99_delay_s": percentile(delays, 99),
                "spread_s": delays[-1],
                "from_publish_p50_s": percentile([t - at for t in times], 50),
                "from_publish_p99_s": percentile([t - at for t in times], 99),
            }
        )
    complete = [e for e in per_event if e["received"]]
    return {
        "clients": n,
        "apis": args.apis,
        "client_procs": args.procs,
        "connect_s": connect_s,
        "delivered_all": all(e["received"] == n for e in per_event),
        "events": per_event,
        "worst_p99_delay_s": max(e["p99_delay_s"] for e in complete),
        "worst_spread_s": max(e["spread_s"] for e in complete),
        "from_publish_p99_s": max(e["from_publish_p99_s"] for e in complete),
        "rss_per_connection_kib": (rss_open - rss_before) / n / 1024,
        "idle_cpu_core_percent": 100 * idle_cpu,
        "fanout_cpu_core_percent": 100 * fanout_cpu,
        "gc_collections_during_events": {g: gc_after[g] - gc_before.get(g, 0) for g in gc_after},
        "probe_before": summary(before),
        "probe_while_open": summary(during),
    }


def main() -> None:
    if sys.argv[1:] == ["--client"]:
        client_main()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1000", help="N, or N1,N2,... (a stack each)")
    parser.add_argument("--apis", type=int, default=1)
    parser.add_argument("--procs", type=int, default=4, help="client processes")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--probe", type=float, default=20.0, help="seconds of GET probes")
    parser.add_argument("--name", default="sse_fanout", help="results file name")
    args = parser.parse_args()
    # The API processes inherit it: thousands of sockets each.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    where = machine()
    print(describe(where), flush=True)
    runs = []
    for n in (int(x) for x in args.clients.split(",")):
        run = run_one(n, args)
        runs.append(run)
        print(f"N={n} over {args.apis} API(s): done", flush=True)
        write_result(args.name, {"machine": where, "runs": runs})

    rows = [
        [r["clients"], r["apis"], "yes" if r["delivered_all"] else "NO",
         ms(r["worst_p99_delay_s"]), ms(r["worst_spread_s"]), ms(r["from_publish_p99_s"]),
         f"{r['rss_per_connection_kib']:.1f}", f"{r['idle_cpu_core_percent']:.1f}",
         f"{r['fanout_cpu_core_percent']:.0f}",
         f"{ms(r['probe_before']['p99'])} / {ms(r['probe_while_open']['p99'])}"]
        for r in runs
    ]  # fmt: skip
    print()
    print(table(["N", "APIs", "all got all", "worst p99 delay ms", "worst spread ms",
                 "publish->client p99 ms", "KiB/conn", "idle CPU %", "fan-out CPU %",
                 "GET p99 before / open ms"], rows))  # fmt: skip
    last = runs[-1]
    print(
        f"\nsse fan-out N={last['clients']} over {last['apis']} API(s): worst per-event p99 "
        f"delay {ms(last['worst_p99_delay_s'])} ms (goal < 200), "
        f"{last['rss_per_connection_kib']:.1f} KiB/conn (< 16), idle "
        f"{last['idle_cpu_core_percent']:.1f} % of a core (< 5), GET p99 while open "
        f"{ms(last['probe_while_open']['p99'])} ms (< 50)"
    )


if __name__ == "__main__":
    main()

"""How soon a webhook reaches its receiver after the change that owes it, and how fast a burst
drains, with one endpoint answering slowly beside it.

    uv run python bench/webhook_latency.py [--events 50] [--burst 200] [--slow-seconds 5]

Runs `reelay up` on a fresh temporary data dir (REELAY_WEBHOOK_ALLOW_PRIVATE=true: the
receivers listen on 127.0.0.1), registers an account with two endpoints for `media.canceled`:
a fast receiver and one that sleeps --slow-seconds before answering. Then:
  sequential  an upload created and canceled, one at a time; latency is from the cancel
              request's start to the fast receiver's arrival (commit, wake-up, claim, POST)
  burst       --burst uploads canceled at once (16 at a time); time until the fast receiver
              has all of them, while the slow one holds its share of the sender's slots
Results: docs/benchmarks.md ("Webhooks").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from reelay_stack.ports import free_port

REELAY = str(Path(sys.executable).parent / "reelay")
BODY = {"filename": "a.mp4", "content_type": "video/mp4", "size": 1000}


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.arrivals: dict[str, float] = {}
        self.changed = threading.Condition()
        super().__init__(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        arrived = time.perf_counter()
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.changed:
            self.server.arrivals.setdefault(self.headers["Reelay-Event-Id"], arrived)
            self.server.changed.notify_all()
        time.sleep(self.server.delay)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def wait_for(receiver: Receiver, count: int, timeout: float = 300) -> None:
    with receiver.changed:
        if not receiver.changed.wait_for(lambda: len(receiver.arrivals) >= count, timeout):
            raise SystemExit(f"only {len(receiver.arrivals)} of {count} events arrived")


async def canceled_upload(api: httpx.AsyncClient) -> float:
    """Start and cancel an upload; the moment the cancel request started."""
    media_id = (await api.post("/videos", json=BODY)).json()["id"]
    started = time.perf_counter()
    answer = await api.post(f"/videos/{media_id}/cancel")
    answer.raise_for_status()
    return started


async def measure(base_url: str, args: argparse.Namespace) -> None:
    fast, slow = Receiver(0.0), Receiver(args.slow_seconds)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as api:
        login = {"email": "bench@example.com", "password": "correct horse battery"}
        (await api.post("/auth/register", json=login)).raise_for_status()
        token = (await api.post("/auth/token", json=login)).json()["access_token"]
        api.cookies.clear()
        api.headers["Authorization"] = f"Bearer {token}"
        for receiver in (fast, slow):
            hook = {"url": receiver.url, "events": ["media.canceled"]}
            (await api.post("/webhooks", json=hook)).raise_for_status()

        latencies = []
        for n in range(args.events):
            started = await canceled_upload(api)
            await asyncio.to_thread(wait_for, fast, n + 1)
            latencies.append(max(fast.arrivals.values()) - started)
        ms = sorted(1000 * value for value in latencies)
        print(
            f"sequential: {len(ms)} events, cancel request start -> receiver: p50 "
            f"{statistics.median(ms):.0f} ms, p90 {ms[int(0.9 * len(ms))]:.0f} ms, "
            f"max {ms[-1]:.0f} ms"
        )

        before = len(fast.arrivals)
        limit = asyncio.Semaphore(16)

        async def one() -> float:
            async with limit:
                return await canceled_upload(api)

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(args.burst)))
        changed = time.perf_counter()
        await asyncio.to_thread(wait_for, fast, before + args.burst)
        drained = time.perf_counter()
        print(
            f"burst: {args.burst} cancels took {changed - started:.1f} s; all delivered to the "
            f"fast receiver {drained - started:.1f} s after the first "
            f"({drained - changed:.1f} s after the last change); the slow receiver "
            f"({args.slow_seconds:g} s per answer) had {len(slow.arrivals)} meanwhile"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--slow-seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("REELAY_")}
        env["REELAY_WEBHOOK_ALLOW_PRIVATE"] = "true"
        up = subprocess.Popen(
            [REELAY, "up", "--data-dir", data_dir, "--port", str(port),
             "--s3-port", str(free_port()), "--redis-port", str(free_port()),
             "--seaweed-port", str(free_port())],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            base_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base_url}/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or up.poll() is not None:
                    raise SystemExit("reelay up did not get ready")
                time.sleep(0.2)
            asyncio.run(measure(base_url, args))
        finally:
            os.killpg(up.pid, signal.SIGINT)
            up.wait(timeout=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())

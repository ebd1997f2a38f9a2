"""`reelay up` as a user runs it: clear one-line errors, a clean stop, data that survives."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest
from reelay_core.settings import Settings
from reelay_core.storage import Storage
from reelay_stack.ports import free_port

REELAY = str(Path(sys.executable).parent / "reelay")
pytestmark = pytest.mark.e2e


def up_command(data_dir: Path, api_port: int, **ports: int) -> list[str]:
    ports = {
        "s3-port": free_port(),
        "redis-port": free_port(),
        "seaweed-port": free_port(),
        **ports,
    }
    return [
        REELAY,
        "up",
        "--data-dir",
        str(data_dir),
        "--port",
        str(api_port),
        *(arg for name, value in ports.items() for arg in (f"--{name}", str(value))),
    ]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELAY_")}
    return {**env, **extra}


def run_to_exit(
    command: list[str], env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=env or clean_env(), capture_output=True, text=True, timeout=timeout
    )


def processes_using(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(data_dir) in cmdline and "pytest" not in cmdline:
            found.append(proc)
    return found


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [
        line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")
    ]
    assert len(lines) == 1, result.stdout + result.stderr
    return lines[0]


def test_api_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_to_exit(up_command(tmp_path / "data", port))
    assert result.returncode != 0
    assert f"port {port} for the API is in use" in error_line(result)
    assert "--port" in error_line(result)


def test_unwritable_data_dir_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_to_exit(up_command(blocker / "data", free_port()))
    assert result.returncode != 0
    assert "is not writable" in error_line(result) and "--data-dir" in error_line(result)


def test_missing_ffmpeg_is_one_clear_line(tmp_path: Path) -> None:
    result = run_to_exit(
        up_command(tmp_path / "data", free_port()), env=clean_env(REELAY_FFMPEG="/nowhere/ffmpeg")
    )
    assert result.returncode != 0
    assert "ffmpeg" in error_line(result) and "REELAY_FFMPEG" in error_line(result)


def test_failure_midway_stops_what_already_started(data_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        s3_port = busy.getsockname()[1]
        # PostgreSQL and Valkey start before SeaweedFS finds its port taken.
        result = run_to_exit(up_command(data_dir, free_port(), **{"s3-port": s3_port}))
    assert result.returncode != 0
    assert f"port {s3_port} for SeaweedFS S3 is in use" in error_line(result)
    assert (data_dir / "postgres" / "PG_VERSION").exists(), "PostgreSQL had started"
    assert processes_using(data_dir) == []


def wait_ready(base_url: str, proc: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("reelay up did not become ready")


def start_up(command: list[str]) -> subprocess.Popen[str]:
    # A process group of its own, as a shell gives a foreground command.
    return subprocess.Popen(
        command,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def send_stop(proc: subprocess.Popen[str], sig: int) -> None:
    if proc.poll() is not None:  # it exited by itself: keep its output for the failure message
        return
    if sig in (signal.SIGINT, signal.SIGHUP):
        # Ctrl-C in a terminal, or the terminal closed: the whole foreground group gets it.
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)  # a service manager signals the main process


def stop_up(proc: subprocess.Popen[str], sig: int) -> str:
    send_stop(proc, sig)
    output, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, output
    return output


@dataclass
class RunningUp:
    pid: int
    output: list[str] = field(default_factory=list)  # receives its output once it stopped


@contextmanager
def running_up(command: list[str], base_url: str, stop_with: int) -> Iterator[RunningUp]:
    """`reelay up`, ready; stopped by signal on exit. A failure inside the block carries its
    output (the API's traceback, say)."""
    proc = start_up(command)
    up = RunningUp(proc.pid)
    try:
        wait_ready(base_url, proc)
        yield up
    except BaseException as exc:
        send_stop(proc, stop_with)
        logs, _ = proc.communicate(timeout=90)
        raise AssertionError(f"{exc}\n--- reelay up printed ---\n{logs}") from exc
    up.output.append(stop_up(proc, stop_with))


def stack_storage(data_dir: Path, command: list[str]) -> Storage:
    """The S3 gateway of the `reelay up` that `command` runs, as its own processes reach it."""
    keys = json.loads((data_dir / "secrets.json").read_text())
    s3_port = command[command.index("--s3-port") + 1]
    return Storage(
        Settings(
            s3_endpoint_url=f"http://127.0.0.1:{s3_port}",
            s3_access_key=keys["s3_access_key"],
            s3_secret_key=keys["s3_secret_key"],
        )
    )


async def put_objects(storage: Storage, objects: dict[str, bytes], staging: Path) -> None:
    async with storage:
        for key, body in objects.items():
            (staging / "object").write_bytes(body)
            await storage.upload_file(staging / "object", key, content_type="video/mp4")


async def get_objects(storage: Storage, keys: list[str]) -> dict[str, bytes]:
    async with storage:
        return {key: await storage.get_bytes(key) for key in keys}


def kill_holder_of_lock(data_dir: Path) -> None:
    """Leave the data dir's lock file as a `reelay up` killed with SIGKILL leaves it."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from pathlib import Path\n"
         "from reelay_stack.lock import DataDirLock\n"
         "DataDirLock(Path(sys.argv[1])).acquire()\n"
         "print('locked', flush=True)\n"
         "time.sleep(600)\n",
         str(data_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    holder.kill()
    holder.wait(timeout=10)


def test_up_serves_stops_cleanly_and_keeps_users_and_objects_across_restarts(
    data_dir: Path, tmp_path: Path
) -> None:
    api_port = free_port()
    command = up_command(data_dir, api_port)  # the same ports every time, as a user would
    base_url = f"http://127.0.0.1:{api_port}"
    credentials = {"email": "first@example.com", "password": "long enough"}
    # Written just before the first stop: nothing but the stop stands between them and disk.
    objects = {f"restart-test/{n}": os.urandom(300_000 + n) for n in range(3)}
    kill_holder_of_lock(data_dir)  # a lock left by a killed run must not stop this one

    with running_up(command, base_url, signal.SIGINT) as up:
        assert httpx.post(f"{base_url}/auth/register", json=credentials).status_code == 201
        assert httpx.get(f"{base_url}/schema/openapi.json").status_code == 200
        second = run_to_exit(up_command(data_dir, free_port()))
        asyncio.run(put_objects(stack_storage(data_dir, command), objects, tmp_path))
    output = up.output[0]
    assert second.returncode == 1
    assert error_line(second) == (
        f"error: data directory {data_dir.resolve()} is in use by another reelay up "
        f"(pid {up.pid}); stop it, or choose another directory with --data-dir"
    )
    assert "reelay is up" in output and f"{base_url}/schema" in output
    assert "lost Redis" not in output, "Valkey outlives the API and worker it serves"
    assert "GET /schema/openapi.json" not in output, "no line per request without --access-log"
    assert "recording health" not in output
    assert processes_using(data_dir) == [], "Ctrl-C leaves no process behind"

    # Then stopped as a closed terminal and as a service manager stop it.
    for stop_with in (signal.SIGHUP, signal.SIGTERM):
        with running_up(command, base_url, stop_with) as up:
            token = httpx.post(f"{base_url}/auth/token", json=credentials)
            assert token.status_code == 200, "the user registered before the restart can log in"
            me = httpx.get(
                f"{base_url}/auth/me",
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            )
            assert me.json()["email"] == credentials["email"]
            storage = stack_storage(data_dir, command)
            assert asyncio.run(get_objects(storage, list(objects))) == objects, stop_with
        assert "lost Redis" not in up.output[0], stop_with
        assert processes_using(data_dir) == [], stop_with

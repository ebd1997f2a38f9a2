"""The API and worker as real child processes for tests, with logs kept per process."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from reelay_core.settings import Settings
from reelay_stack.children import ChildProcess
from reelay_stack.embedded import app_env
from reelay_stack.errors import StackError
from reelay_stack.supervisor import wait_ready


class FileSink:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir

    def __call__(self, name: str, line: str) -> None:
        with open(self.log_dir / f"{name}.log", "a") as log:
            log.write(line)


class AppProcesses:
    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.env = app_env(settings)
        self.sink = FileSink(log_dir)
        self.api = ChildProcess("api", [sys.executable, "-m", "reelay_api"], self.env, self.sink)
        self.workers: list[ChildProcess] = []

    @property
    def base_url(self) -> str:
        return self.settings.api_base_url

    def start(self) -> None:
        self.api.start()
        self.start_worker()
        self.wait_ready()

    def start_worker(self, name: str | None = None, **env: str) -> ChildProcess:
        worker = ChildProcess(
            name or f"worker{len(self.workers)}",
            [sys.executable, "-m", "reelay_worker"],
            {**self.env, **env},
            self.sink,
        )
        worker.start()
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: ChildProcess) -> None:
        os.killpg(worker.pid, signal.SIGKILL)
        assert worker.process is not None  # started by start_worker
        worker.process.wait(timeout=10)
        self.workers.remove(worker)

    def wait_ready(self, timeout: float = 60) -> None:
        try:
            wait_ready(f"{self.base_url}/readyz", timeout, [self.api])
        except StackError as exc:
            raise RuntimeError(f"{exc}: {self.log('api')[-3000:]}") from exc

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop(grace=10)
        self.api.stop(grace=10)

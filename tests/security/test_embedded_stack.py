"""The embedded stack is private to the user who runs it: another local user (any process on the
host can reach a loopback port) can neither queue code for the worker, nor use Valkey, nor read
or write objects or administer SeaweedFS through its own ports, nor read the data files.
"""

from __future__ import annotations

import os
import pickle
import secrets
import socket
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from arq import ArqRedis
from arq.constants import job_key_prefix
from arq.utils import timestamp_ms
from reelay_core.settings import Settings
from reelay_stack.embedded import EmbeddedServices
from reelay_stack.errors import StackError
from reelay_stack.ports import GRPC_OFFSET, Ports, free_port
from reelay_stack.seaweed_tls import Certificates, ensure_certificates

from tests.support.data_dirs import reachable_data_dir
from tests.support.docker_stack import docker_requested
from tests.support.processes import AppProcesses
from tests.support.waits import job_finished, until_sync

pytestmark = pytest.mark.skipif(docker_requested(), reason="about the embedded stack")


class Touch:
    """Unpickling this creates a file: what an attacker's job would do, made visible."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return Path.touch, (self.path,)


async def test_a_pickled_job_in_the_queue_is_never_run(
    apps: AppProcesses, arq_redis: ArqRedis, tmp_path: Path
) -> None:
    marker = tmp_path / "the-pickle-ran"
    job_id = f"attack:{secrets.token_hex(4)}"
    now = timestamp_ms()
    job = {"t": 1, "f": "media.transcode", "a": [Touch(marker)], "k": {}, "et": now}
    # Even with the password, which only the stack's own processes have.
    await arq_redis.set(job_key_prefix + job_id, pickle.dumps(job))
    await arq_redis.zadd(arq_redis.default_queue_name, {job_id: now})

    ended = await job_finished(arq_redis, job_id)

    assert not ended.success
    assert not marker.exists(), "the worker unpickled the job"


def redis_without_password(url: str) -> redis.Redis:
    parts = urlsplit(url)
    return redis.Redis(host=parts.hostname or "", port=parts.port or 6379)


def test_valkey_refuses_commands_without_the_password(stack_settings: Settings) -> None:
    anonymous = redis_without_password(str(stack_settings.redis_url))
    with anonymous:
        for command in (("SET", "arq:job:x", "payload"), ("KEYS", "*"), ("CONFIG", "GET", "*")):
            with pytest.raises(redis.exceptions.NoPermissionError):
                anonymous.execute_command(*command)
        with pytest.raises(redis.exceptions.AuthenticationError):
            anonymous.execute_command("AUTH", "reelay", "a guess")


@pytest.fixture(scope="module")
def own_stack() -> Iterator[tuple[EmbeddedServices, dict[Path, os.stat_result]]]:
    """A fresh stack in a fresh data dir, nested in directories it did not create, and how those
    directories were before it started."""
    with reachable_data_dir() as root:
        root.chmod(0o755)  # as a home directory may be; the stack must leave it so
        data_dir = root / "nested" / "data"
        (root / "nested").mkdir()
        before = {parent: parent.stat() for parent in data_dir.parents}
        ports = Ports(redis=free_port(), s3=free_port(), seaweed=free_port())
        services = EmbeddedServices(
            Settings(data_dir=data_dir, api_port=free_port()), ports, persist=True
        )
        try:
            services.start()
            yield services, before
        finally:
            services.stop()


def stack_certificates(services: EmbeddedServices) -> Certificates:
    return ensure_certificates(services.settings.data_dir / "seaweedfs" / "tls")


def tls_context(
    trusted: Certificates, client: Certificates | None, protocol: str
) -> ssl.SSLContext:
    """A client that checks the stack's servers, presenting `client`'s certificate if any."""
    context = ssl.create_default_context(cafile=trusted.ca)
    if client is not None:
        context.load_cert_chain(client.cert, client.key)
    context.set_alpn_protocols([protocol])
    return context


def seaweed_ports(services: EmbeddedServices) -> tuple[dict[str, int], dict[str, int]]:
    """The HTTP ports of master, volume and filer, and the gRPC ports of those and the gateway."""
    base = services.ports.seaweed
    http = {"master": base, "volume": base + 1, "filer": base + 2}
    grpc = {name: port + GRPC_OFFSET for name, port in http.items()}
    grpc["s3"] = services.ports.s3 + GRPC_OFFSET
    return http, grpc


# What an HTTP/2 client sends first: the preface, then its (empty) SETTINGS frame.
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
H2_SETTINGS = 4


def grpc_answers(port: int, context: ssl.SSLContext | None) -> bool:
    """Whether the port answers a gRPC client's opening with its own SETTINGS frame, as a gRPC
    server does before any call can be made: plaintext if `context` is None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            stream = (
                raw if context is None else context.wrap_socket(raw, server_hostname="127.0.0.1")
            )
            with stream:
                stream.sendall(H2_PREFACE)
                header = stream.makefile("rb").read(9)
    except (ssl.SSLError, ConnectionError):
        return False
    return len(header) == 9 and header[3] == H2_SETTINGS


def test_seaweedfs_grpc_ports_take_only_the_stacks_certificate(
    own_stack: tuple[EmbeddedServices, dict[Path, os.stat_result]], tmp_path: Path
) -> None:
    services, _ = own_stack
    stack = stack_certificates(services)
    # A CA and certificate of the attacker's own, made as the stack makes its own.
    foreign = ensure_certificates(tmp_path / "attacker")
    _, grpc = seaweed_ports(services)
    for name, port in grpc.items():
        assert not grpc_answers(port, None), f"{name} gRPC in plaintext"
        assert not grpc_answers(port, tls_context(stack, None, "h2")), f"{name}: no certificate"
        assert not grpc_answers(port, tls_context(stack, foreign, "h2")), f"{name}: foreign one"
        # The refusals above are the certificate's: with the stack's own, the server answers.
        assert grpc_answers(port, tls_context(stack, stack, "h2")), f"{name} with the stack's"


def assign(client: httpx.Client, master: str) -> dict[str, Any]:
    """A file id from the master, once its volume server has registered (it may not have, just
    after the stack started: "No writable volumes")."""

    def assigned() -> dict[str, Any] | None:
        answer: dict[str, Any] = client.get(f"{master}/dir/assign").json()
        return answer if "fid" in answer else None

    return until_sync(assigned, what="the master hands out a file id")


def test_seaweedfs_http_ports_take_only_the_stacks_certificate(
    own_stack: tuple[EmbeddedServices, dict[Path, os.stat_result]], tmp_path: Path
) -> None:
    services, _ = own_stack
    stack = stack_certificates(services)
    foreign = ensure_certificates(tmp_path / "attacker")
    http, _ = seaweed_ports(services)
    master = f"127.0.0.1:{http['master']}"
    bucket = f"127.0.0.1:{http['filer']}/buckets/{services.settings.s3_bucket}/"
    # The master's admin API: a write JWT for a new file id, volumes grown at will, a collection
    # (the bucket's objects) deleted; the filer's listing; the volume server's status.
    attacks = [
        ("GET", f"{master}/dir/assign"),
        ("POST", f"{master}/vol/grow?count=1"),
        ("POST", f"{master}/col/delete?collection={services.settings.s3_bucket}"),
        ("GET", bucket),
        ("GET", f"127.0.0.1:{http['volume']}/status"),
    ]
    for method, address in attacks:
        with httpx.Client(timeout=10) as plain:
            # Go's answer to plain HTTP on a TLS port, before any handler runs.
            assert plain.request(method, f"http://{address}").status_code == 400, address
        for client in (None, foreign):
            with httpx.Client(verify=tls_context(stack, client, "http/1.1"), timeout=10) as tls:
                with pytest.raises(httpx.TransportError):
                    tls.request(method, f"https://{address}")

    with httpx.Client(verify=tls_context(stack, stack, "http/1.1"), timeout=10) as admitted:
        assert "fid" in assign(admitted, f"https://{master}")


def test_seaweedfs_volume_and_filer_want_a_jwt_even_with_the_certificate(
    own_stack: tuple[EmbeddedServices, dict[Path, os.stat_result]],
) -> None:
    services, _ = own_stack
    stack = stack_certificates(services)
    http, _ = seaweed_ports(services)
    master = f"https://127.0.0.1:{http['master']}"
    filer = f"https://127.0.0.1:{http['filer']}"
    bucket = f"/buckets/{services.settings.s3_bucket}/"
    with httpx.Client(verify=tls_context(stack, stack, "http/1.1"), timeout=10) as client:
        assert client.get(f"{filer}{bucket}").status_code == 401, "list the bucket"
        assert client.put(f"{filer}{bucket}planted.txt", content=b"x").status_code == 401
        assert client.delete(f"{filer}{bucket}", params={"recursive": "true"}).status_code == 401

        # A file id the volume server knows, from the master (which hands one to any holder of
        # the certificate).
        assigned = assign(client, master)
        blob = f"https://{assigned['url']}/{assigned['fid']}"
        assert client.post(blob, files={"file": b"x"}).status_code == 401, "write a blob"
        assert client.get(blob).status_code == 401, "read a blob"
        assert client.delete(blob).status_code == 401, "delete a blob"


def test_data_files_are_private_and_nothing_above_them_changed(
    own_stack: tuple[EmbeddedServices, dict[Path, os.stat_result]],
) -> None:
    services, before = own_stack
    data_dir = services.settings.data_dir
    for parent, was in before.items():
        now = parent.stat()
        assert (now.st_mode, now.st_uid, now.st_gid) == (was.st_mode, was.st_uid, was.st_gid), (
            parent
        )

    assert stat.S_IMODE((data_dir / "secrets.json").stat().st_mode) == 0o600
    # Others may not enter the data dir; as root, PostgreSQL's user may pass through to its own.
    assert stat.S_IMODE(data_dir.stat().st_mode) & 0o007 == 0
    readable = [
        path
        for path in data_dir.rglob("*")
        # PostgreSQL's socket is 0777 by design, inside its 0700 directory; SeaweedFS writes each
        # volume's .vif (version, replication: no user data) 0644 whatever the umask.
        if (path.is_file() or path.is_dir())
        and path.suffix != ".vif"
        and path.stat().st_mode & (stat.S_IROTH | stat.S_IWOTH)
    ]
    assert readable == [], "files others may read or write"


@pytest.mark.skipif(os.geteuid() != 0, reason="PostgreSQL runs as another user only under root")
def test_a_data_dir_postgres_cannot_reach_is_one_line_not_a_chmod(tmp_path: Path) -> None:
    # pytest keeps tmp_path under a directory only its owner may enter.
    data_dir = tmp_path / "data"
    before = {parent: parent.stat().st_mode for parent in data_dir.parents}
    services = EmbeddedServices(
        Settings(data_dir=data_dir, api_port=free_port()),
        Ports(redis=free_port(), s3=free_port(), seaweed=free_port()),
    )
    try:
        with pytest.raises(StackError, match=r"cannot enter .* REELAY_DATA_DIR"):
            services.start()
    finally:
        services.stop()
    assert {parent: parent.stat().st_mode for parent in data_dir.parents} == before

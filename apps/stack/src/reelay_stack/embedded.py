"""Start what a settings object lacks: embedded servers for unset URLs, then bucket and schema.

Used by `reelay up` and by the test suite, so both run on exactly the same stack.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from typing import Protocol

from reelay_core.settings import Settings

from reelay_stack import secrets
from reelay_stack.errors import StackError
from reelay_stack.ports import Ports
from reelay_stack.servers import EmbeddedPostgres, EmbeddedSeaweedFS, EmbeddedValkey, system_user


class Server(Protocol):
    @property
    def url(self) -> str: ...

    def start(self) -> None: ...
    def stop(self) -> None: ...


class EmbeddedServices:
    """The servers this process started, and the settings that point at them."""

    def __init__(self, settings: Settings, ports: Ports, *, persist: bool = True) -> None:
        self.base = settings
        self.ports = ports
        self.persist = persist
        self.started: list[Server] = []
        self.settings = settings
        self._servers: dict[str, Server] | None = None

    def resolve(self) -> Settings:
        """The settings that point at the servers, before any has started: ports, data dir and
        secrets fix their URLs."""
        data_dir = self.base.data_dir.resolve()
        ensure_writable(data_dir)
        make_private(data_dir, embedded_postgres=not self.base.database_url)
        keys = secrets.load_or_create(data_dir)
        overrides: dict[str, object] = {"data_dir": data_dir}
        if not self.base.jwt_secret:
            overrides["jwt_secret"] = keys.jwt_secret
        self._servers = self._embedded_servers(data_dir, keys)
        overrides.update({name: server.url for name, server in self._servers.items()})
        if "s3_endpoint_url" in self._servers:
            overrides["s3_access_key"] = keys.s3_access_key
            overrides["s3_secret_key"] = keys.s3_secret_key
        self.settings = self.base.model_copy(update=overrides)
        return self.settings

    def start(self) -> Settings:
        """Start the servers, make the bucket and migrate the schema; the settings."""
        if self._servers is None:
            self.resolve()
        servers = self._servers or {}
        settings = self.settings
        steps = [
            (servers.get("database_url"), lambda: migrate_schema(settings)),
            (servers.get("redis_url"), None),
            (servers.get("s3_endpoint_url"), lambda: asyncio.run(ensure_bucket(settings))),
            # The S3 client's import (a second or more) while SeaweedFS starts, not after.
            (None, lambda: import_module("reelay_core.storage")),
        ]
        # Side by side: SeaweedFS alone takes seconds to answer, in which the schema is
        # migrated. Leaving the block waits for every step, so that stop() finds all servers
        # that did start when one step failed.
        with private_files(), ThreadPoolExecutor(max_workers=len(steps)) as pool:
            outcomes = [pool.submit(self._start, server, then) for server, then in steps]
        for outcome in outcomes:
            outcome.result()
        return self.settings

    def _embedded_servers(self, data_dir: Path, keys: secrets.StackSecrets) -> dict[str, Server]:
        """The servers to start, by the setting their URL goes to: those the settings lack."""
        servers: dict[str, Server] = {}
        if not self.base.database_url:
            servers["database_url"] = EmbeddedPostgres(data_dir / "postgres")
        if not self.base.redis_url:
            servers["redis_url"] = EmbeddedValkey(
                data_dir / "valkey",
                self.ports.redis,
                password=keys.redis_password,
                persist=self.persist,
            )
        if not self.base.s3_endpoint_url:
            servers["s3_endpoint_url"] = EmbeddedSeaweedFS(
                data_dir / "seaweedfs",
                s3_port=self.ports.s3,
                base_port=self.ports.seaweed,
                access_key=keys.s3_access_key,
                secret_key=keys.s3_secret_key,
                signing_key=keys.seaweed_signing_key,
            )
        return servers

    def _start(self, server: Server | None, then: Callable[[], object] | None) -> None:
        if server is not None:
            server.start()
            self.started.append(server)
        if then is not None:
            then()

    def stop(self) -> None:
        # The servers do not depend on one another once the apps are gone.
        with ThreadPoolExecutor(max_workers=max(1, len(self.started))) as pool:
            list(pool.map(lambda server: server.stop(), reversed(self.started)))
        self.started.clear()


# Imported where used: aioboto3 and alembic take seconds to import on a busy machine, which
# `reelay up` spends while the servers start rather than before it says anything.


async def ensure_bucket(settings: Settings) -> None:
    from reelay_core.storage import Storage

    async with Storage(settings) as storage:
        await storage.ensure_bucket()


def migrate_schema(settings: Settings) -> None:
    from reelay_core.db import migrate

    migrate.upgrade(str(settings.database_url))


def ensure_writable(data_dir: Path) -> None:
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe = data_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise StackError(
            f"data directory {data_dir} is not writable ({exc.strerror}); "
            "choose another with --data-dir or REELAY_DATA_DIR"
        ) from exc


def make_private(data_dir: Path, *, embedded_postgres: bool) -> None:
    """Only we may enter the data directory. As root, PostgreSQL runs as a user of its own, whose
    group may pass through to its subdirectory (which is its own, 0700)."""
    if embedded_postgres and os.geteuid() == 0:
        os.chown(data_dir, -1, system_user(EmbeddedPostgres.SYSTEM_USER).pw_gid)
        data_dir.chmod(0o710)
    else:
        data_dir.chmod(0o700)


@contextmanager
def private_files() -> Iterator[None]:
    """The servers started inside inherit a umask that keeps what they write to their owner."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def app_env(settings: Settings) -> dict[str, str]:
    """The environment of the API and worker processes: ours, plus the resolved settings."""
    return {**os.environ, **settings_env(settings), "PYTHONUNBUFFERED": "1"}


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as REELAY_* variables for child processes."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        key = f"REELAY_{name.upper()}"
        env[key] = value if isinstance(value, str) else json.dumps(value)
    return env

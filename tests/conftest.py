"""Session-wide real servers for the suite: embedded PostgreSQL, Valkey, SeaweedFS and FFmpeg.

Started once on free ports in a temp dir (or as testcontainers with REELAY_TEST_DOCKER=1 when
Docker answers). The run keeps its objects under a key prefix of its own, so it can share a
bucket; each test that asks for `clean_state` starts from empty tables and an empty prefix.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from arq import ArqRedis
from reelay_core import jobs
from reelay_core.settings import Settings
from reelay_core.storage import Storage
from reelay_stack.embedded import EmbeddedServices
from reelay_stack.ports import Ports, free_port
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.data_dirs import reachable_data_dir
from tests.support.docker_stack import docker_requested, docker_settings
from tests.support.media import MediaFactory
from tests.support.processes import AppProcesses

# Fast-moving values so retries, leases and stalls are observable within seconds.
TEST_OVERRIDES = {
    "lease_seconds": 6,
    "retry_delays": [0.5, 1.0, 2.0],
    "stall_timeout": 20.0,
    "auth_rate_limit_per_minute": 100_000,
    "ladder_heights": [1080, 720, 480, 360],
    "log_level": "INFO",
    # The webhook tests' receiver listens on 127.0.0.1; retries come within a second or two.
    "webhook_allow_private": True,
    "webhook_timeout_seconds": 3.0,
    "webhook_retry_base_seconds": 0.5,
    "webhook_retry_max_seconds": 2.0,
}


@pytest.fixture(scope="session")
def stack_settings() -> Iterator[Settings]:
    with reachable_data_dir() as data_dir:
        base = Settings(
            data_dir=data_dir,
            api_port=free_port(),
            s3_key_prefix=f"test-run-{secrets.token_hex(4)}/",
            **TEST_OVERRIDES,
        )
        if docker_requested():
            with docker_settings(base) as settings:
                yield settings
            return
        services = EmbeddedServices(
            base, Ports(redis=free_port(), s3=free_port(), seaweed=free_port()), persist=False
        )
        try:
            yield services.start()
        finally:
            services.stop()


@pytest.fixture(scope="session")
def apps(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppProcesses]:
    """The real API and worker processes, as `reelay up` runs them."""
    processes = AppProcesses(stack_settings, tmp_path_factory.mktemp("logs"))
    processes.start()
    try:
        yield processes
    finally:
        processes.stop()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh data directory for a `reelay up` or embedded stack of the test's own."""
    with reachable_data_dir() as path:
        yield path


@pytest.fixture(scope="session")
async def storage(stack_settings: Settings) -> AsyncIterator[Storage]:
    async with Storage(stack_settings) as opened:
        yield opened


@pytest.fixture(scope="session")
async def arq_redis(stack_settings: Settings) -> AsyncIterator[ArqRedis]:
    """The job queue, to see whether a job has finished (arq keeps its result)."""
    redis = await jobs.connect(str(stack_settings.redis_url))
    try:
        yield redis
    finally:
        await redis.aclose()


@pytest.fixture
async def clean_state(stack_settings: Settings, storage: Storage) -> None:
    """Empty tables, then no objects under the run's key prefix. Locks are taken media first, as
    the worker does (update media, then insert media_events), so a worker still finishing an
    earlier test's item cannot deadlock with us."""
    engine = create_async_engine(str(stack_settings.database_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("LOCK TABLE media, media_events, users IN ACCESS EXCLUSIVE MODE")
            )
            await conn.execute(text("TRUNCATE media, media_events, users CASCADE"))
    finally:
        await engine.dispose()
    await storage.delete_prefix("")


@pytest.fixture
async def api(apps: AppProcesses, clean_state: None) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=apps.base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def media_factory(tmp_path_factory: pytest.TempPathFactory) -> MediaFactory:
    return MediaFactory(tmp_path_factory.mktemp("media"))

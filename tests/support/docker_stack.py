"""testcontainers instead of embedded servers, when REELAY_TEST_DOCKER=1 and Docker answers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from reelay_core.db import migrate
from reelay_core.settings import Settings
from reelay_stack.embedded import ensure_bucket


def docker_requested() -> bool:
    if os.environ.get("REELAY_TEST_DOCKER") != "1":
        return False
    try:
        import docker

        docker.from_env().ping()
    except Exception:
        return False
    return True


@contextmanager
def docker_settings(base: Settings) -> Iterator[Settings]:
    from testcontainers.minio import MinioContainer
    from testcontainers.postgres import PostgresContainer
    from testcontainers.redis import RedisContainer

    with ExitStack() as stack:
        pg = stack.enter_context(PostgresContainer("postgres:17-alpine", driver="asyncpg"))
        redis = stack.enter_context(RedisContainer("valkey/valkey:8-alpine"))
        minio = stack.enter_context(MinioContainer())
        s3 = minio.get_config()
        settings = base.model_copy(
            update={
                "database_url": pg.get_connection_url(),
                "redis_url": f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0",
                "s3_endpoint_url": f"http://{s3['endpoint']}",
                "s3_access_key": s3["access_key"],
                "s3_secret_key": s3["secret_key"],
                "jwt_secret": "test-secret-" + "x" * 32,
            }
        )
        asyncio.run(ensure_bucket(settings))
        migrate.upgrade(str(settings.database_url))
        yield settings

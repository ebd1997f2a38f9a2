"""Which dependency an exception says is down, so the answer is a precise 503, not a 500."""

from __future__ import annotations

import traceback

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

STORAGE = "Object storage (S3)"
QUEUE = "The job queue (Redis)"
DATABASE = "The database (PostgreSQL)"
STORAGE_UNREACHABLE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)


def unavailable_dependency(exc: BaseException) -> str | None:
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return QUEUE
    if isinstance(exc, STORAGE_UNREACHABLE):
        return STORAGE
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return STORAGE if status >= 500 else None
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return DATABASE
    if isinstance(exc, OSError | TimeoutError):
        # Clients raise plain OS errors when they cannot reach their server at all; which
        # client it was shows in where the error was raised.
        return raised_by_client(exc)
    return None


CLIENT_PACKAGES = {"asyncpg": DATABASE, "aiobotocore": STORAGE, "aiohttp": STORAGE, "redis": QUEUE}


def raised_by_client(exc: BaseException) -> str | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        for package, dependency in CLIENT_PACKAGES.items():
            if f"/{package}/" in frame.filename:
                return dependency
    return None

"""Async engine and session factory; made once per process and disposed at shutdown."""

from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# Connections older than this are replaced at checkout: a bound on how long one can go stale
# unnoticed (a server gone without closing its sockets).
RECYCLE_SECONDS = 1800


def make_engine(database_url: str, *, pool_size: int = 10, name: str = "reelay") -> AsyncEngine:
    """`name` is the application_name that pg_stat_activity shows for its connections.

    No pool_pre_ping: it costs every checkout a BEGIN/`;`/ROLLBACK round trip, about a third of
    a simple request's. A connection that PostgreSQL closed (a restart, pg_terminate_backend)
    is known closed by asyncpg as soon as its socket reports it, and is refused at checkout
    without a round trip (`_refuse_closed`).
    """
    engine = create_async_engine(
        database_url,
        pool_size=pool_size,
        pool_recycle=RECYCLE_SECONDS,
        connect_args={"server_settings": {"application_name": name}},
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    if dbapi_connection.driver_connection.is_closed():
        # Closed by the server: most likely all of them were (a restart). The pool replaces
        # every connection older than now, and this checkout gets a new one.
        raise InvalidatePoolError("the server closed this connection")


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)

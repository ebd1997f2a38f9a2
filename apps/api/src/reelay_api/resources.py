"""Clients made once per API process at start-up and closed at shutdown."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from arq import ArqRedis
from litestar import Litestar
from reelay_core import jobs
from reelay_core.db.session import make_engine, make_session_factory
from reelay_core.settings import Settings
from reelay_core.storage import Storage
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reelay_api.events.heartbeat import Heartbeat
from reelay_api.events.hub import EventHub


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    storage: Storage
    redis: ArqRedis
    hub: EventHub
    read_sessions: async_sessionmaker[AsyncSession]  # autocommit: a query, no transaction


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with AsyncExitStack() as stack:
        engine = make_engine(str(settings.database_url), name="reelay-api")
        stack.push_async_callback(engine.dispose)
        storage = await stack.enter_async_context(Storage(settings))
        redis = await jobs.connect(str(settings.redis_url))
        stack.push_async_callback(redis.aclose)
        hub = EventHub(str(settings.redis_url))
        await hub.start()
        stack.push_async_callback(hub.stop)
        sessions = make_session_factory(engine)
        heartbeat = Heartbeat(hub, sessions, redis)
        heartbeat.start()
        stack.push_async_callback(heartbeat.stop)
        reads = make_session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))
        app.state.resources = Resources(settings, engine, sessions, storage, redis, hub, reads)
        # Garbage collection with thousands of streams open: each collection of the youngest
        # generation promotes every object alive at that moment (every stream's pending wait),
        # and so many promotions soon trigger a full pass that stops the process (~0.4 s with
        # 5,000 streams). Fewer young collections promote far fewer; what is loaded by now
        # (modules, the app, its schemas) lives as long as the process and is kept out of the
        # full passes altogether.
        gc.set_threshold(20_000, 10, 10)
        gc.freeze()
        yield

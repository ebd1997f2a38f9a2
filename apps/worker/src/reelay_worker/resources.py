"""What one worker process opens at start-up and closes at shutdown (arq's ctx["res"])."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from arq import ArqRedis
from reelay_core.binaries import ffmpeg_path, ffprobe_path
from reelay_core.db.session import make_engine, make_session_factory
from reelay_core.settings import Settings
from reelay_core.storage import Storage
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


@dataclass
class WorkerResources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    storage: Storage
    redis: ArqRedis
    ffmpeg: str
    ffprobe: str


@asynccontextmanager
async def open_resources(settings: Settings, redis: ArqRedis) -> AsyncIterator[WorkerResources]:
    """The database pool, storage clients and FFmpeg paths; `redis` is arq's own pool."""
    async with AsyncExitStack() as stack:
        engine = make_engine(str(settings.database_url), pool_size=settings.worker_concurrency + 4)
        stack.push_async_callback(engine.dispose)
        storage = await stack.enter_async_context(Storage(settings))
        yield WorkerResources(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            storage=storage,
            redis=redis,
            ffmpeg=ffmpeg_path(settings),
            ffprobe=ffprobe_path(settings),
        )

"""Clients one worker process makes at start-up and closes at shutdown (arq's ctx)."""

from __future__ import annotations

from dataclasses import dataclass

from arq import ArqRedis
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

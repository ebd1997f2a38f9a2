"""Fixtures for the live-progress tests: an account and a synthetic event source.

Synthetic events go through exactly the path the worker uses (`events.record` in a committed
transaction, then `events.publish`) against the session's real Postgres and Valkey, so a test
decides what happens and when without waiting for FFmpeg.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from reelay_api.events.hub import EventHub
from reelay_core import events
from reelay_core.db.session import make_engine, make_session_factory
from reelay_core.events import MediaEventRecord
from reelay_core.settings import Settings

from tests.support.client import Account, register


class Recorder:
    """Records and publishes media events like the worker does."""

    def __init__(self, settings: Settings) -> None:
        self.engine = make_engine(str(settings.database_url), pool_size=2)
        self.sessions = make_session_factory(self.engine)
        self.redis = Redis.from_url(str(settings.redis_url))

    async def emit(
        self, media_id: str, event: str, *, publish: bool = True, **changes: Any
    ) -> MediaEventRecord:
        async with self.sessions() as db:
            record = await events.record(db, uuid.UUID(media_id), event, **changes)
            await db.commit()
        assert record is not None, f"media {media_id} is gone"
        if publish:
            await events.publish(self.redis, record)
        return record

    async def progress(self, media_id: str, value: float, **changes: Any) -> MediaEventRecord:
        return await self.emit(
            media_id, "progress", progress=value, stage="transcode", eta_seconds=5, **changes
        )

    async def close(self) -> None:
        await self.redis.aclose()
        await self.engine.dispose()


@pytest.fixture
async def hub(stack_settings: Settings) -> AsyncIterator[EventHub]:
    """A hub of its own, connected, on the suite's Valkey."""
    hub = EventHub(str(stack_settings.redis_url))
    await hub.start()
    try:
        await asyncio.wait_for(hub.connected.wait(), 10)
        yield hub
    finally:
        await hub.stop()


@pytest.fixture
async def recorder(stack_settings: Settings) -> AsyncIterator[Recorder]:
    rec = Recorder(stack_settings)
    try:
        yield rec
    finally:
        await rec.close()


@pytest.fixture
async def account(api: httpx.AsyncClient) -> Account:
    return await register(api)

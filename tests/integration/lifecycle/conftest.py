"""Lifecycle steps in-process: real Postgres, Valkey, SeaweedFS and FFmpeg, and an arq worker in
burst mode on a queue of its own, so the session's worker process never takes these jobs."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from arq import ArqRedis
from reelay_core import events
from reelay_core.db import models as m
from reelay_core.db.models import MediaKind
from reelay_core.media import keys
from reelay_core.settings import Settings
from reelay_worker.resources import WorkerResources
from sqlalchemy import select

from tests.support.burst import private_queue_resources
from tests.support.media import MediaFactory


@pytest.fixture
async def res(stack_settings: Settings, clean_state: None) -> AsyncIterator[WorkerResources]:
    async with private_queue_resources(stack_settings, "lifecycle") as opened:
        yield opened


async def add_media(
    res: WorkerResources, *, kind: MediaKind = MediaKind.VIDEO, source: Path | None = None
) -> m.Media:
    """An item awaiting its upload, owned by a new user; with `source`, its file is stored."""
    media_id = uuid.uuid4()
    async with res.sessions() as db:
        user = m.User(email=f"{media_id}@example.com", password_hash="-")
        db.add(user)
        await db.flush()
        media = m.Media(
            id=media_id,
            owner_id=user.id,
            kind=kind,
            filename="clip.mp4",
            content_type="video/mp4",
            size=source.stat().st_size if source else 1,
            source_key=keys.source_key(media_id, ".mp4"),
            output_prefix=keys.output_prefix(media_id),
        )
        db.add(media)
        await db.commit()
    if source is not None:
        await res.storage.upload_file(source, media.source_key, content_type="video/mp4")
    return media


async def load(res: WorkerResources, media_id: uuid.UUID) -> m.Media:
    async with res.sessions() as db:
        media = await db.get(m.Media, media_id)
        assert media is not None
        return media


async def stored_events(res: WorkerResources, media_id: uuid.UUID) -> list[m.MediaEvent]:
    async with res.sessions() as db:
        rows = await db.scalars(
            select(m.MediaEvent).where(m.MediaEvent.media_id == media_id).order_by(m.MediaEvent.seq)
        )
        return list(rows)


@dataclass
class Heard:
    """What was published on one item's channel."""

    redis: ArqRedis
    media_id: uuid.UUID

    async def __aenter__(self) -> Heard:
        self.pubsub = self.redis.pubsub()
        await self.pubsub.subscribe(events.channel(self.media_id))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.pubsub.aclose()

    async def next(self, timeout: float = 30) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is not None:  # a MediaEventRecord: its data plus the event's name
                    record = json.loads(message["data"])
                    data: dict[str, Any] = {**record["data"], "event": record["event"]}
                    return data


@pytest.fixture(scope="session")
def tiny_clip(media_factory: MediaFactory) -> Path:
    return media_factory.video(width=320, height=240, seconds=1, fps=10)

"""Stored events of one media item read page by page, so a long history never sits in memory.

No database connection is held while the caller sends a page to a (possibly slow) client.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from reelay_core.db import models as m
from reelay_core.events import MediaEventRecord
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

PAGE_SIZE = 200


async def stored_events(
    sessions: async_sessionmaker[AsyncSession],
    media_id: uuid.UUID,
    *,
    after: int,
    page_size: int = PAGE_SIZE,
) -> AsyncIterator[MediaEventRecord]:
    while True:
        async with sessions() as db:
            rows = (
                await db.execute(
                    select(m.MediaEvent, m.Media.owner_id)
                    .join(m.Media, m.Media.id == m.MediaEvent.media_id)
                    .where(m.MediaEvent.media_id == media_id, m.MediaEvent.seq > after)
                    .order_by(m.MediaEvent.seq)
                    .limit(page_size)
                )
            ).all()
        for event, owner_id in rows:
            yield MediaEventRecord(
                str(event.media_id), str(owner_id), event.seq, event.event, event.data
            )
            after = event.seq
        if len(rows) < page_size:
            return

"""Reading and writing api_keys rows, scoped to their owner (or found by hash, for auth)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from reelay_core.db import models as m
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession


async def find_by_hash(db: AsyncSession, key_hash: str) -> tuple[m.ApiKey, str] | None:
    """The key and its owner's email, in one indexed lookup."""
    row = (
        await db.execute(
            select(m.ApiKey, m.User.email)
            .join(m.User, m.User.id == m.ApiKey.owner_id)
            .where(m.ApiKey.key_hash == key_hash)
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def list_owned(db: AsyncSession, owner_id: uuid.UUID) -> list[m.ApiKey]:
    query = (
        select(m.ApiKey)
        .where(m.ApiKey.owner_id == owner_id)
        .order_by(m.ApiKey.created_at.desc(), m.ApiKey.id.desc())
    )
    return list((await db.scalars(query)).all())


async def count_owned(db: AsyncSession, owner_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(m.ApiKey).where(m.ApiKey.owner_id == owner_id)
    return int(await db.scalar(query) or 0)


async def get_owned(db: AsyncSession, key_id: uuid.UUID, owner_id: uuid.UUID) -> m.ApiKey | None:
    return await db.scalar(
        select(m.ApiKey).where(m.ApiKey.id == key_id, m.ApiKey.owner_id == owner_id)
    )


async def touch(db: AsyncSession, key_id: uuid.UUID, now: datetime, resolution: timedelta) -> None:
    """Set last_used_at unless another request already did within `resolution`."""
    await db.execute(
        update(m.ApiKey)
        .where(
            m.ApiKey.id == key_id,
            or_(m.ApiKey.last_used_at.is_(None), m.ApiKey.last_used_at < now - resolution),
        )
        .values(last_used_at=now)
    )

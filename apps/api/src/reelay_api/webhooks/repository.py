"""Reading webhook rows, scoped to their owner: anyone else's are answered as missing (404)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from reelay_core.db import models as m
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_api.problems import not_found

MAX_ENDPOINTS = 20


async def get_owned(
    db: AsyncSession, endpoint_id: uuid.UUID, owner_id: uuid.UUID, *, lock: bool = False
) -> m.WebhookEndpoint:
    query = select(m.WebhookEndpoint).where(
        m.WebhookEndpoint.id == endpoint_id, m.WebhookEndpoint.owner_id == owner_id
    )
    endpoint = await db.scalar(query.with_for_update() if lock else query)
    if endpoint is None:
        raise not_found("webhook")
    return endpoint


async def list_owned(db: AsyncSession, owner_id: uuid.UUID) -> Sequence[m.WebhookEndpoint]:
    return (
        await db.scalars(
            select(m.WebhookEndpoint)
            .where(m.WebhookEndpoint.owner_id == owner_id)
            .order_by(m.WebhookEndpoint.created_at, m.WebhookEndpoint.id)
        )
    ).all()


async def recent_deliveries(
    db: AsyncSession, endpoint_id: uuid.UUID, *, limit: int
) -> Sequence[m.WebhookDelivery]:
    """Newest first."""
    return (
        await db.scalars(
            select(m.WebhookDelivery)
            .where(m.WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(m.WebhookDelivery.seq.desc())
            .limit(limit)
        )
    ).all()


async def get_delivery(
    db: AsyncSession, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> m.WebhookDelivery:
    delivery = await db.scalar(
        select(m.WebhookDelivery)
        .where(m.WebhookDelivery.id == delivery_id, m.WebhookDelivery.endpoint_id == endpoint_id)
        .with_for_update()
    )
    if delivery is None:
        raise not_found("delivery")
    return delivery

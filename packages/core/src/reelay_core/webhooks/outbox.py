"""Owing events to endpoints: delivery rows written in the transaction of the change itself.

So an event is owed exactly when its change commits (a crash between the two cannot lose or
invent one); the senders are woken after the commit and a slow poll catches a lost wake-up.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_core import effects
from reelay_core.db import models as m
from reelay_core.db.models.base import utcnow
from reelay_core.webhooks import event_types, payload


async def announce(db: AsyncSession, media: m.Media, event_type: str) -> None:
    """Owe `event_type` about `media` (as it is now) to each endpoint of its owner that
    subscribes to it; one event id for all of them."""
    event_id, created_at = payload.new_event_id(), utcnow()
    data = payload.media_object(media)
    endpoint_ids = (
        await db.scalars(
            select(m.WebhookEndpoint.id).where(
                m.WebhookEndpoint.owner_id == media.owner_id,
                m.WebhookEndpoint.enabled,
                m.WebhookEndpoint.events.contains([event_type]),
            )
        )
    ).all()
    for endpoint_id in endpoint_ids:
        db.add(
            m.WebhookDelivery(
                endpoint_id=endpoint_id,
                media_id=media.id,
                event_id=event_id,
                type=event_type,
                payload=data,
                created_at=created_at,
                next_attempt_at=func.now(),
            )
        )
    if endpoint_ids:
        await db.flush()
        effects.wake_webhook_senders(db)
    effects.publish_webhook_event(
        db, media.owner_id, payload.body(event_id, event_type, created_at, data)
    )


async def announce_status(db: AsyncSession, media_id: uuid.UUID, status: m.MediaStatus) -> None:
    """The event a move into `status` announces, if any."""
    event_type = event_types.for_status(status)
    if event_type is not None:
        await announce_by_id(db, media_id, event_type)


async def announce_by_id(db: AsyncSession, media_id: uuid.UUID, event_type: str) -> None:
    """`announce` for an item the step has just written (its row is in the session already)."""
    media = await db.get(m.Media, media_id)
    if media is not None:
        await announce(db, media, event_type)


async def ping(db: AsyncSession, endpoint: m.WebhookEndpoint) -> m.WebhookDelivery:
    """Owe a `ping` to this endpoint alone, turning it back on if it was disabled."""
    _enable(endpoint)
    delivery = m.WebhookDelivery(
        endpoint_id=endpoint.id,
        event_id=payload.new_event_id(),
        type=event_types.PING,
        payload={"webhook_id": str(endpoint.id)},
        created_at=utcnow(),
        next_attempt_at=func.now(),
    )
    db.add(delivery)
    await db.flush()
    effects.wake_webhook_senders(db)
    return delivery


async def redeliver(
    db: AsyncSession, endpoint: m.WebhookEndpoint, delivery: m.WebhookDelivery
) -> None:
    """Send the delivery again, under its own event id, turning its endpoint back on."""
    _enable(endpoint)
    delivery.status = m.DeliveryStatus.PENDING
    delivery.next_attempt_at = func.now()
    await db.flush()
    effects.wake_webhook_senders(db)


def _enable(endpoint: m.WebhookEndpoint) -> None:
    endpoint.enabled = True
    endpoint.disabled_reason = None
    endpoint.failing_since = None

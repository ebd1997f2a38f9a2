"""Request and response bodies of /webhooks, as docs/api.md describes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field
from reelay_core.db import models as m
from reelay_core.webhooks.addresses import MAX_URL_LENGTH

EventType = Literal[
    "media.queued",
    "media.playable",
    "media.completed",
    "media.failed",
    "media.canceled",
    "media.deleted",
]


class CreateWebhook(BaseModel):
    url: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_URL_LENGTH,
            examples=["https://app.example/api/webhooks"],
            description="http or https; it must resolve to public addresses only.",
        ),
    ]
    events: Annotated[
        list[EventType],
        Field(min_length=1, max_length=6, examples=[["media.playable", "media.completed"]]),
    ]


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: Annotated[
        str | None, Field(description="Why deliveries stopped, once the endpoint is disabled.")
    ]
    failing_since: Annotated[
        datetime | None, Field(description="First failure since the last successful delivery.")
    ]
    created_at: datetime

    @classmethod
    def of(cls, endpoint: m.WebhookEndpoint) -> Self:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            events=endpoint.events,
            enabled=endpoint.enabled,
            disabled_reason=endpoint.disabled_reason,
            failing_since=endpoint.failing_since,
            created_at=endpoint.created_at,
        )


class WebhookCreated(WebhookOut):
    secret: Annotated[
        str,
        Field(
            examples=["whsec_Qm9vbXNoYWthbGFrYQ..."],
            description="Signs every delivery; shown only in this answer.",
        ),
    ]


class WebhookPage(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: uuid.UUID
    event_id: Annotated[str, Field(examples=["evt_4f9c2a1b7d3e8f6a5c0b1d2e"])]
    type: Annotated[str, Field(examples=["media.completed"])]
    media_id: uuid.UUID | None
    status: m.DeliveryStatus
    attempts: int
    response_status: Annotated[int | None, Field(description="The last answer's HTTP status.")]
    last_error: Annotated[str | None, Field(description="Why the last attempt failed.")]
    next_attempt_at: Annotated[
        datetime | None, Field(description="While pending: when it is tried next.")
    ]
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: m.WebhookDelivery) -> Self:
        pending = delivery.status == m.DeliveryStatus.PENDING
        return cls(
            id=delivery.id,
            event_id=delivery.event_id,
            type=delivery.type,
            media_id=delivery.media_id,
            status=delivery.status,
            attempts=delivery.attempts,
            response_status=delivery.response_status,
            last_error=delivery.last_error,
            next_attempt_at=delivery.next_attempt_at if pending else None,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]


class PingSent(BaseModel):
    delivery_id: uuid.UUID
    event_id: str

"""The senders' side of the outbox: claim due deliveries under a lease, record what came of them.

A claim moves `next_attempt_at` to the end of a lease and commits, so a sender killed mid-request
leaves the row to be claimed again once the lease ends: at least once, never lost. One item's
events reach an endpoint in order: a row is not claimable while an earlier row of the same item
and endpoint is still pending (in flight or waiting to be retried).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from reelay_core.db import models as m
from reelay_core.db.models.base import utcnow
from reelay_core.webhooks import backoff, payload

D = m.WebhookDelivery
E = m.WebhookEndpoint
PENDING = m.DeliveryStatus.PENDING


@dataclass(frozen=True)
class Policy:
    """How long and how often a failing delivery is retried (from the settings)."""

    retry_window: timedelta
    base_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    endpoint_id: uuid.UUID
    url: str
    secret: str
    event_id: str
    type: str
    attempt: int
    created_at: datetime
    body: bytes


@dataclass(frozen=True)
class Outcome:
    response_status: int | None  # when an answer came back
    error: str | None = None  # None: delivered

    @property
    def delivered(self) -> bool:
        return self.error is None


def _claimable(full_endpoints: Collection[uuid.UUID]) -> list[ColumnElement[bool]]:
    earlier = aliased(D)
    waits_for_earlier = exists().where(
        earlier.endpoint_id == D.endpoint_id,
        earlier.media_id == D.media_id,  # pings (no item) wait for nothing
        earlier.status == PENDING,
        earlier.seq < D.seq,
    )
    where = [D.status == PENDING, E.enabled.is_(True), ~waits_for_earlier]
    if full_endpoints:
        where.append(D.endpoint_id.not_in(full_endpoints))
    return where


async def claim(
    db: AsyncSession,
    *,
    limit: int,
    lease_seconds: float,
    per_endpoint: int,
    in_flight: Mapping[uuid.UUID, int],
) -> list[Claimed]:
    """Up to `limit` due deliveries, leased to the caller; commit before sending them.

    At most `per_endpoint` of one endpoint are in flight (`in_flight` counts the caller's
    sends under way), so a slow endpoint cannot take every slot and hold up the others."""
    taken = Counter(in_flight)
    full = [endpoint for endpoint, count in taken.items() if count >= per_endpoint]
    candidates = (
        await db.execute(
            select(D, E.url, E.secret)
            .join(E, E.id == D.endpoint_id)
            .where(*_claimable(full), D.next_attempt_at <= func.now())
            .order_by(D.seq)
            .limit(limit * per_endpoint)
            .with_for_update(of=D, skip_locked=True)
        )
    ).all()
    rows: list[tuple[m.WebhookDelivery, str, str]] = []
    for delivery, url, secret in candidates:
        if len(rows) < limit and taken[delivery.endpoint_id] < per_endpoint:
            taken[delivery.endpoint_id] += 1
            rows.append((delivery, url, secret))
    if not rows:
        return []
    await db.execute(
        update(D)
        .where(D.id.in_([delivery.id for delivery, _, _ in rows]))
        .values(attempts=D.attempts + 1, next_attempt_at=func.now() + _seconds(lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return [
        Claimed(
            id=delivery.id,
            endpoint_id=delivery.endpoint_id,
            url=url,
            secret=secret,
            event_id=delivery.event_id,
            type=delivery.type,
            attempt=delivery.attempts + 1,
            created_at=delivery.created_at,
            body=payload.body(
                delivery.event_id, delivery.type, delivery.created_at, delivery.payload
            ),
        )
        for delivery, url, secret in rows
    ]


async def seconds_until_due(
    db: AsyncSession, *, full_endpoints: Collection[uuid.UUID] = ()
) -> float | None:
    """How long until the next claimable delivery is due (0 if one is); None if none waits.
    `full_endpoints` (as many in flight as they may have) are not waited for: a send's end
    wakes the sender."""
    due = await db.scalar(
        select(func.extract("epoch", func.min(D.next_attempt_at) - func.now()))
        .join(E, E.id == D.endpoint_id)
        .where(*_claimable(full_endpoints))
    )
    return None if due is None else max(float(due), 0.0)


async def record(db: AsyncSession, claimed: Claimed, outcome: Outcome, policy: Policy) -> None:
    """Delivered, or due again after a backoff, or given up once the retry window is over; an
    endpoint that has failed for a whole window is disabled and says why."""
    endpoint = await db.get(E, claimed.endpoint_id, with_for_update=True)
    if endpoint is None:  # deleted meanwhile, its deliveries with it
        return
    fenced = update(D).where(D.id == claimed.id, D.status == PENDING)
    fenced = fenced.execution_options(synchronize_session=False)
    common = {"response_status": outcome.response_status, "last_error": outcome.error}
    if outcome.delivered:
        endpoint.failing_since = None
        await db.execute(
            fenced.values(status=m.DeliveryStatus.DELIVERED, delivered_at=func.now(), **common)
        )
        return
    now = utcnow()
    if now - claimed.created_at >= policy.retry_window:
        await db.execute(fenced.values(status=m.DeliveryStatus.FAILED, **common))
    else:
        delay = backoff.retry_delay(
            claimed.attempt, base=policy.base_seconds, cap=policy.max_seconds
        )
        await db.execute(fenced.values(next_attempt_at=func.now() + _seconds(delay), **common))
    endpoint.failing_since = endpoint.failing_since or now
    if endpoint.enabled and now - endpoint.failing_since >= policy.retry_window:
        await disable(db, endpoint, policy, last_error=outcome.error)


async def disable(
    db: AsyncSession, endpoint: m.WebhookEndpoint, policy: Policy, *, last_error: str | None
) -> None:
    """Stop sending to an endpoint that has not taken a delivery for a whole retry window; what
    it was still owed is failed (a redeliver or ping turns it back on)."""
    hours = policy.retry_window.total_seconds() / 3600
    endpoint.enabled = False
    endpoint.disabled_reason = (
        f"Disabled at {utcnow():%Y-%m-%d %H:%M} UTC: no delivery succeeded for {hours:g} h "
        f"(last error: {last_error})."
    )
    await db.execute(
        update(D)
        .where(D.endpoint_id == endpoint.id, D.status == PENDING)
        .values(status=m.DeliveryStatus.FAILED, last_error="The endpoint was disabled.")
        .execution_options(synchronize_session=False)
    )


async def prune(db: AsyncSession, *, older_than: timedelta) -> int:
    """Forget delivered and failed deliveries created more than `older_than` ago (the log's
    length); pending ones stay whatever their age."""
    result = await db.execute(
        delete(D).where(D.status != PENDING, D.created_at < func.now() - older_than)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of a DELETE


def _seconds(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)

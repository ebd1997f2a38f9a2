"""A step owes its webhooks in its own transaction: rolled back, it owes none; committed, one row
per subscribed, enabled endpoint of the item's owner, carrying the item as it is now."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from reelay_core.db import models as m
from reelay_core.db.models import DeliveryStatus
from reelay_core.db.models.base import utcnow
from reelay_core.effects import unit_of_work
from reelay_core.media import keys, transitions
from reelay_core.settings import Settings
from reelay_core.webhooks import deliveries
from reelay_worker.resources import WorkerResources
from sqlalchemy import select

from tests.support.burst import private_queue_resources

# Nothing listens there: the session's worker may try these rows and fail, which this test
# does not look at.
NOWHERE = "http://127.0.0.1:9/hooks"


@pytest.fixture
async def res(stack_settings: Settings, clean_state: None) -> AsyncIterator[WorkerResources]:
    async with private_queue_resources(stack_settings, "outbox") as opened:
        yield opened


async def owner_with_endpoints(res: WorkerResources) -> tuple[m.Media, dict[str, uuid.UUID]]:
    """An item awaiting upload; its owner's endpoints: one for queued, one for completed
    only, one disabled; and another account's endpoint for queued."""
    async with res.sessions() as db:
        owner, stranger = (
            m.User(email=f"{uuid.uuid4()}@example.com", password_hash="-") for _ in "ab"
        )
        db.add_all([owner, stranger])
        await db.flush()

        def endpoint(user: m.User, event: str, *, enabled: bool = True) -> m.WebhookEndpoint:
            return m.WebhookEndpoint(
                owner_id=user.id, url=NOWHERE, secret="s", events=[event], enabled=enabled
            )

        endpoints = {
            "queued": endpoint(owner, "media.queued"),
            "completed": endpoint(owner, "media.completed"),
            "disabled": endpoint(owner, "media.queued", enabled=False),
            "stranger": endpoint(stranger, "media.queued"),
        }
        db.add_all(endpoints.values())
        media_id = uuid.uuid4()
        media = m.Media(
            id=media_id,
            owner_id=owner.id,
            kind=m.MediaKind.VIDEO,
            filename="clip.mp4",
            content_type="video/mp4",
            size=1,
            source_key=keys.source_key(media_id, ".mp4"),
            output_prefix=keys.output_prefix(media_id),
            external_id="their-42",
            client_metadata={"post": 7},
        )
        db.add(media)
        await db.commit()
        return media, {name: endpoint.id for name, endpoint in endpoints.items()}


async def owed(res: WorkerResources, media_id: uuid.UUID) -> list[m.WebhookDelivery]:
    async with res.sessions() as db:
        rows = await db.scalars(
            select(m.WebhookDelivery).where(m.WebhookDelivery.media_id == media_id)
        )
        return list(rows)


async def test_a_rolled_back_step_owes_nothing_a_committed_one_owes_its_subscribers(
    res: WorkerResources,
) -> None:
    media, endpoints = await owner_with_endpoints(res)
    with pytest.raises(RuntimeError):
        async with unit_of_work(res) as db:
            row = await db.get(m.Media, media.id, with_for_update=True)
            assert row is not None
            await transitions.queue_attempt(db, row, attempt=1)
            raise RuntimeError("the request failed after the step")
    assert await owed(res, media.id) == []

    async with unit_of_work(res) as db:
        row = await db.get(m.Media, media.id, with_for_update=True)
        assert row is not None
        await transitions.queue_attempt(db, row, attempt=1)
    [delivery] = await owed(res, media.id)
    assert delivery.endpoint_id == endpoints["queued"] and delivery.type == "media.queued"
    assert delivery.event_id.startswith("evt_")
    data = delivery.payload
    assert (data["id"], data["status"], data["attempts"]) == (str(media.id), "queued", 1)
    assert (data["external_id"], data["metadata"]) == ("their-42", {"post": 7})


async def test_the_log_forgets_finished_deliveries_past_its_length_never_pending_ones(
    res: WorkerResources,
) -> None:
    media, endpoints = await owner_with_endpoints(res)
    long_ago = utcnow() - timedelta(days=31)
    statuses = [DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.PENDING]
    async with unit_of_work(res) as db:
        for status, created_at in [
            *((s, long_ago) for s in statuses),
            (DeliveryStatus.DELIVERED, utcnow()),
        ]:
            db.add(
                m.WebhookDelivery(
                    endpoint_id=endpoints["completed"],
                    media_id=media.id,
                    event_id=f"evt_{status}_{created_at:%d}",
                    type="media.completed",
                    payload={},
                    status=status,
                    created_at=created_at,
                    # Not due for a day: the session's worker leaves the pending one alone.
                    next_attempt_at=utcnow() + timedelta(days=1),
                )
            )
    async with unit_of_work(res) as db:
        assert await deliveries.prune(db, older_than=timedelta(days=30)) == 2
    kept = {(d.status, d.created_at == long_ago) for d in await owed(res, media.id)}
    assert kept == {(DeliveryStatus.PENDING, True), (DeliveryStatus.DELIVERED, False)}

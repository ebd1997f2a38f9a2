"""Redis pub/sub of webhooks: the senders' wake-up call, and each account's live events (what
`reelay webhooks listen` streams). Both are a fast path only: the outbox rows are the truth."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

WAKE_CHANNEL = "webhooks:wake"


def account_channel(owner_id: uuid.UUID | str) -> str:
    return f"webhooks:account:{owner_id}"


async def wake_senders(redis: Redis) -> None:
    await redis.publish(WAKE_CHANNEL, b"")


async def publish_event(redis: Redis, owner_id: uuid.UUID | str, body: bytes) -> None:
    await redis.publish(account_channel(owner_id), body)

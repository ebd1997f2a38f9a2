"""The rules of /webhooks: which URLs an endpoint may have, how many, and what is shown once."""

from __future__ import annotations

import asyncio
import uuid

from reelay_core.db import models as m
from reelay_core.settings import Settings
from reelay_core.webhooks import addresses, signing
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_api.problems import Problem
from reelay_api.webhooks.repository import MAX_ENDPOINTS


async def check_url(url: str, settings: Settings) -> None:
    """Refuse (422) a URL a delivery could not be sent to: another scheme, a name that does not
    resolve, or an address in the server's own networks (unless the server allows them)."""
    try:
        async with asyncio.timeout(settings.webhook_timeout_seconds):
            await addresses.checked_address(url, allow_private=settings.webhook_allow_private)
    except addresses.RefusedUrl as exc:
        raise Problem(422, str(exc), code="webhook_url_refused") from exc
    except TimeoutError as exc:
        raise Problem(
            422,
            f"The host did not resolve within {settings.webhook_timeout_seconds:g} s.",
            code="webhook_url_refused",
        ) from exc


async def create(
    db: AsyncSession, settings: Settings, owner_id: uuid.UUID, url: str, events: list[str]
) -> m.WebhookEndpoint:
    await check_url(url, settings)
    count = await db.scalar(select(func.count()).where(m.WebhookEndpoint.owner_id == owner_id))
    if (count or 0) >= MAX_ENDPOINTS:
        raise Problem(
            409,
            f"An account may have {MAX_ENDPOINTS} webhook endpoints; delete one first.",
            code="too_many_webhooks",
        )
    endpoint = m.WebhookEndpoint(
        owner_id=owner_id,
        url=url,
        secret=signing.new_secret(),
        events=list(dict.fromkeys(events)),
        enabled=True,
    )
    db.add(endpoint)
    await db.flush()
    await db.refresh(endpoint)
    return endpoint

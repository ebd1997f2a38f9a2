"""Per-user quotas: items in flight (awaiting upload, queued or processing) and source bytes.

One query per check. It locks the user's row (FOR NO KEY UPDATE, which the foreign-key checks
of media rows do not wait for) until the request commits, so one user's concurrent requests
are checked one after another and cannot each take the last slot.
"""

from __future__ import annotations

import uuid

from reelay_core.db import models as m
from reelay_core.db.models import MediaStatus
from reelay_core.settings import Settings
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_api.problems import Problem

IN_FLIGHT = (MediaStatus.AWAITING_UPLOAD, MediaStatus.QUEUED, MediaStatus.PROCESSING)
# Items in flight finish within minutes; a client may try again then.
RETRY_AFTER_SECONDS = 60


async def check(
    db: AsyncSession,
    settings: Settings,
    owner_id: uuid.UUID,
    *,
    new_items: int,
    new_bytes: int,
    lock: bool = True,
) -> None:
    """Refuse with 429 `quota_exceeded` what would take the user over a limit.

    The user's own items count as they are, so `new_items` and `new_bytes` are what the request
    adds beyond them. Without `lock` the check is a cheap early refusal, not a guarantee.
    """
    owner = select(m.User.id).where(m.User.id == owner_id)
    if lock:
        owner = owner.with_for_update(key_share=True)  # FOR NO KEY UPDATE
    owner_cte = owner.cte("owner")
    in_flight, stored_sum = (
        await db.execute(
            select(
                func.count(m.Media.id).filter(m.Media.status.in_(IN_FLIGHT)),
                func.coalesce(func.sum(m.Media.size), 0),
            )
            .select_from(owner_cte)
            .outerjoin(m.Media, m.Media.owner_id == owner_cte.c.id)
        )
    ).one()
    stored = int(stored_sum)  # a numeric sum
    if new_items and in_flight + new_items > settings.max_items_in_flight:
        raise Problem(
            429,
            f"You have {in_flight} items awaiting upload, queued or processing; at most "
            f"{settings.max_items_in_flight} may be (REELAY_MAX_ITEMS_IN_FLIGHT). Wait for some "
            "to finish, or cancel some.",
            code="quota_exceeded",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            extra={"limit": "items_in_flight"},
        )
    if stored + new_bytes > settings.max_bytes_per_user:
        adding = f" and this file {new_bytes} more" if new_bytes else ""
        raise Problem(
            429,
            f"Your items take {stored} bytes{adding}; at most "
            f"{settings.max_bytes_per_user} may be stored per user (REELAY_MAX_BYTES_PER_USER). "
            "Delete some items first.",
            code="quota_exceeded",
            extra={"limit": "bytes_stored"},
        )

"""What a user may do to a queued item in the API: cancel, retry, delete.

These check the user's request against the item and answer a refusal as a problem; the step
itself is `reelay_core.media.transitions`. The request's session commits, then the effects run.
"""

from __future__ import annotations

from reelay_core import effects
from reelay_core.db import models as m
from reelay_core.db.models import MediaStatus
from reelay_core.media import keys, transitions
from reelay_core.settings import Settings
from reelay_core.storage import Storage
from reelay_core.webhooks import event_types
from reelay_core.webhooks import outbox as webhooks
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_api.media import quotas
from reelay_api.problems import Problem

# How long DELETE waits for a running job to stop before deleting its objects once more, so
# that a worker still uploading outputs does not leave some behind.
ABORT_WAIT_SECONDS = 5.0


async def cancel(db: AsyncSession, media: m.Media) -> None:
    if media.status.is_terminal:
        raise Problem(409, f"This item is already {media.status}.", code="already_terminal")
    await transitions.cancel(db, media)


async def retry(db: AsyncSession, settings: Settings, media: m.Media) -> None:
    if media.status not in (MediaStatus.FAILED, MediaStatus.CANCELED):
        raise Problem(
            409,
            f"Only failed or canceled items can be retried; this one is {media.status}.",
            code="wrong_state",
        )
    if media.attempt == 0:
        raise Problem(
            409,
            "This item was canceled before its upload completed; upload the file again.",
            code="never_uploaded",
        )
    await quotas.check(db, settings, media.owner_id, new_items=1, new_bytes=0)
    await transitions.queue_attempt(db, media, attempt=media.attempt + 1)


async def delete(db: AsyncSession, storage: Storage, settings: Settings, media: m.Media) -> None:
    """Cancel the item (open SSE streams end, its job is aborted), delete its objects and rows.

    The objects go before the row, so a storage outage fails the request and keeps the item.
    After commit they are deleted once more when the aborted job has stopped, and once more
    when every upload URL given out for the item has expired (a presigned POST stays usable).
    """
    running = media.status == MediaStatus.PROCESSING
    await transitions.cancel(db, media, abort_wait=ABORT_WAIT_SECONDS if running else 0.1)
    await storage.delete_prefix(keys.item_prefix(media.id))
    await webhooks.announce(db, media, event_types.MEDIA_DELETED)
    await db.delete(media)
    await db.flush()
    effects.delete_objects(db, media.id)
    effects.schedule_purge(db, media.id, defer_by=settings.presign_ttl_seconds + 60)

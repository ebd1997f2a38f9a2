"""The events an endpoint can subscribe to, and which status change announces which."""

from __future__ import annotations

from typing import Final

from reelay_core.db.models import MediaStatus

MEDIA_QUEUED: Final = "media.queued"
MEDIA_PLAYABLE: Final = "media.playable"
MEDIA_COMPLETED: Final = "media.completed"
MEDIA_FAILED: Final = "media.failed"
MEDIA_CANCELED: Final = "media.canceled"
MEDIA_DELETED: Final = "media.deleted"
# Sent on request to one endpoint (POST /webhooks/{id}/ping); nobody subscribes to it.
PING: Final = "ping"

EVENT_TYPES: Final = (
    MEDIA_QUEUED,
    MEDIA_PLAYABLE,
    MEDIA_COMPLETED,
    MEDIA_FAILED,
    MEDIA_CANCELED,
    MEDIA_DELETED,
)

_BY_STATUS: Final = {
    MediaStatus.QUEUED: MEDIA_QUEUED,
    MediaStatus.COMPLETED: MEDIA_COMPLETED,
    MediaStatus.FAILED: MEDIA_FAILED,
    MediaStatus.CANCELED: MEDIA_CANCELED,
}


def for_status(status: MediaStatus) -> str | None:
    """The event a move into `status` announces; None for awaiting_upload and processing."""
    return _BY_STATUS.get(status)

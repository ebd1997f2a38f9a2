"""What a delivery carries: the media object as the API shows it, in the event's envelope."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from reelay_core.db import models as m
from reelay_core.media.outputs import renditions


def new_event_id() -> str:
    return f"evt_{secrets.token_hex(12)}"


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def media_object(media: m.Media) -> dict[str, Any]:
    """The item as GET /videos/{id} answers it (docs/api.md), without `queue_position`'s query:
    it is null here. tests/integration/webhooks checks that the API's schema reads it back."""
    return {
        "id": str(media.id),
        "kind": media.kind.value,
        "filename": media.filename,
        "content_type": media.content_type,
        "size": media.size,
        "status": media.status.value,
        "progress": round(media.progress, 2),
        "stage": media.stage,
        "eta_seconds": media.eta_seconds,
        "queue_position": None,
        "attempts": media.attempts,
        "playable": media.playable,
        "playable_at": _time(media.playable_at),
        "external_id": media.external_id,
        "metadata": media.client_metadata or {},
        "error": (
            {"code": media.error_code, "message": media.error_message} if media.error_code else None
        ),
        "source": media.source,
        "outputs": [rendition.public_json() for rendition in renditions(media.outputs)],
        "created_at": _time(media.created_at),
        "updated_at": _time(media.updated_at),
        "completed_at": _time(media.completed_at),
    }


def body(event_id: str, event_type: str, created_at: datetime, data: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): the same on every attempt of one event."""
    envelope = {"id": event_id, "type": event_type, "created_at": _time(created_at), "data": data}
    return json.dumps(envelope, separators=(",", ":")).encode()

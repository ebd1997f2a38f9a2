"""Request bodies and the media object exactly as shared/API.md describes it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field
from reelay_core.db import models as m


class CreateMedia(BaseModel):
    filename: Annotated[str, Field(min_length=1, max_length=255)]
    content_type: Annotated[str, Field(min_length=3, max_length=127)]
    size: Annotated[int, Field(gt=0, description="Exact size of the file in bytes.")]


class CompletedPart(BaseModel):
    part_number: Annotated[int, Field(ge=1, le=10000)]
    etag: Annotated[str, Field(min_length=1, max_length=128)]


class CompleteUpload(BaseModel):
    parts: list[CompletedPart] | None = None


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def public_outputs(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Storage keys are ours; clients reach outputs through /download and /hls.
    return [{k: v for k, v in o.items() if k != "key"} for o in outputs]


def media_out(media: m.Media, *, queue_position: int | None = None) -> dict[str, Any]:
    return {
        "id": str(media.id),
        "kind": media.kind,
        "filename": media.filename,
        "content_type": media.content_type,
        "size": media.size,
        "status": media.status,
        "progress": round(media.progress, 2),
        "stage": media.stage,
        "eta_seconds": media.eta_seconds,
        "queue_position": queue_position,
        "attempts": media.attempt,
        "error": (
            {"code": media.error_code, "message": media.error_message}
            if media.error_code
            else None
        ),
        "source": media.source,
        "outputs": public_outputs(media.outputs or []),
        "created_at": iso(media.created_at),
        "updated_at": iso(media.updated_at),
        "completed_at": iso(media.completed_at),
    }

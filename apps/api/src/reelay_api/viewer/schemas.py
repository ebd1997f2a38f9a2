"""Request and response bodies of POST /videos/{id}/tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from reelay_api.viewer.tokens import DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS


class CreateViewerToken(BaseModel):
    ttl_seconds: Annotated[
        int,
        Field(
            ge=1,
            le=MAX_TTL_SECONDS,
            description=f"Lifetime of the token, at most {MAX_TTL_SECONDS} s (24 h).",
            examples=[DEFAULT_TTL_SECONDS],
        ),
    ] = DEFAULT_TTL_SECONDS


class ViewerToken(BaseModel):
    token: Annotated[
        str, Field(description="Send as `?token=` on the item's GET, events, HLS and download.")
    ]
    expires_at: datetime

"""Request and response bodies of /api-keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, Field
from reelay_core.db import models as m
from reelay_core.db.models import ApiKeyScope


class CreateApiKey(BaseModel):
    name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=100,
            pattern=r"^[^\x00-\x1f\x7f]+$",
            description="Yours to recognise the key by (no control characters).",
            examples=["production backend"],
        ),
    ]
    scope: Annotated[
        ApiKeyScope,
        Field(description="`full`: everything a login may do but manage keys; `read`: GETs only."),
    ]


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: Annotated[str, Field(examples=["production backend"])]
    scope: ApiKeyScope
    created_at: datetime
    last_used_at: Annotated[
        datetime | None,
        Field(description="When a request last used it (to within a minute); null if never."),
    ]

    @classmethod
    def of(cls, key: m.ApiKey) -> Self:
        return cls(
            id=key.id,
            name=key.name,
            scope=key.scope,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
        )


class ApiKeyCreated(ApiKeyOut):
    key: Annotated[
        str,
        Field(
            description="The key itself, shown only in this answer: reelay keeps only its hash.",
            examples=["rly_4q0x9w3Zp1VYkq3mJ0d8oTnS2fL7cHbE5uRa6yXgKiM"],
        ),
    ]


class ApiKeyPage(BaseModel):
    items: list[ApiKeyOut]

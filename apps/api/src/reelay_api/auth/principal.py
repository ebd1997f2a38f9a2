"""The caller of a request as handlers see it (`request.user`), whatever credential it sent."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass


class Credential(enum.StrEnum):
    SESSION = "session"
    API_KEY = "api_key"
    VIEWER_TOKEN = "viewer_token"


@dataclass(frozen=True)
class AuthUser:
    """Who is calling, and what the credential they sent allows.

    A session is read from its token alone (no database round trip); an API key is looked up by
    its hash on every request, so a revoked one stops at once.
    """

    id: uuid.UUID
    email: str
    credential: Credential = Credential.SESSION
    # A `read` API key: anything that changes state is refused (403).
    read_only: bool = False
    # A viewer token: the one media item it grants reading (auth/viewer.py).
    media_id: uuid.UUID | None = None


# Handler `opt` key: a POST that stores nothing, which a `read` API key may call too.
CHANGES_NOTHING = "changes_nothing"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

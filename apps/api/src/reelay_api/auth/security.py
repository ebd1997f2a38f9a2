"""JWT in the Authorization header or an HttpOnly cookie (EventSource cannot send headers)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTCookieAuth, Token
from reelay_core.settings import Settings

SESSION_COOKIE = "reelay_session"
PUBLIC_PATHS = [
    "^/$",
    "^/auth/register",
    "^/auth/token",
    "^/auth/logout",
    "^/static/",
    "^/healthz",
    "^/readyz",
    "^/metrics",
    "^/schema",
]


@dataclass(frozen=True)
class AuthUser:
    """Who is calling, read from the token alone: no database round trip per request."""

    id: uuid.UUID
    email: str


async def user_from_token(token: Token, _: ASGIConnection[Any, Any, Any, Any]) -> AuthUser | None:
    try:
        return AuthUser(id=uuid.UUID(token.sub), email=str(token.extras.get("email", "")))
    except ValueError:
        return None


def make_jwt_auth(settings: Settings) -> JWTCookieAuth[AuthUser, Token]:
    assert settings.jwt_secret, "REELAY_JWT_SECRET must be set"
    return JWTCookieAuth[AuthUser, Token](
        retrieve_user_handler=user_from_token,
        token_secret=settings.jwt_secret,
        key=SESSION_COOKIE,
        default_token_expiration=timedelta(seconds=settings.token_ttl_seconds),
        exclude=PUBLIC_PATHS,
        samesite="lax",
    )

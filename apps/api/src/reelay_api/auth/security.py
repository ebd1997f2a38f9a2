"""JWT in the Authorization header or an HttpOnly cookie (EventSource cannot send headers)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.security.jwt import JWTCookieAuth, Token
from reelay_core.settings import Settings, check_jwt_secret

from reelay_api.auth import revocation

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


async def token_revoked(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    # One Redis round trip per authenticated request; Redis down answers 503 (fail closed).
    return await revocation.is_revoked(connection.app.state.resources.redis, token)


def make_jwt_auth(settings: Settings) -> JWTCookieAuth[AuthUser, Token]:
    if not settings.jwt_secret:
        raise ValueError("REELAY_JWT_SECRET is not set; generate one with `openssl rand -hex 32`")
    # Settings refuse a weak secret when they are read; a model_copy of them is not re-validated.
    check_jwt_secret(settings.jwt_secret)
    return JWTCookieAuth[AuthUser, Token](
        retrieve_user_handler=user_from_token,
        revoked_token_handler=token_revoked,
        # Every token names itself, so that logging out can revoke exactly that one.
        require_claims=["jti"],
        token_secret=settings.jwt_secret,
        key=SESSION_COOKIE,
        default_token_expiration=timedelta(seconds=settings.token_ttl_seconds),
        exclude=PUBLIC_PATHS,
        samesite="strict",
    )


class SessionTokens:
    """What the token endpoints need of the JWT auth: issue, read back and name the token.

    A plain class on purpose: Litestar resolves a dependency's type hints, and
    JWTCookieAuth's own hints name types it imports only for type checkers.
    """

    def __init__(self, jwt_auth: JWTCookieAuth[AuthUser, Token]) -> None:
        self._jwt_auth = jwt_auth
        self.cookie_key = jwt_auth.key

    def issue(self, user_id: uuid.UUID, email: str, ttl_seconds: int) -> str:
        return self._jwt_auth.create_token(
            identifier=str(user_id),
            token_expiration=timedelta(seconds=ttl_seconds),
            token_unique_jwt_id=secrets.token_urlsafe(16),
            token_extras={"email": email},
        )

    def read(self, encoded: str) -> Token | None:
        """The token if it is one of ours and still valid, else None."""
        try:
            auth = self._jwt_auth
            return Token.decode(encoded, auth.token_secret, auth.algorithm, require_claims=["jti"])
        except NotAuthorizedException:
            return None

"""Who is calling: a session JWT (Authorization header or HttpOnly cookie, as EventSource cannot
send headers), an API key (`Authorization: Bearer rly_...`), or a viewer token (`?token=`)."""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTCookieAuth, JWTCookieAuthenticationMiddleware, Token
from reelay_core.settings import Settings, check_jwt_secret

from reelay_api.auth import revocation
from reelay_api.auth.principal import CHANGES_NOTHING, SAFE_METHODS
from reelay_api.auth.principal import AuthUser as AuthUser  # where handlers import it from
from reelay_api.keys import authentication
from reelay_api.problems import Problem
from reelay_api.viewer import tokens

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
        authentication_middleware_class=CredentialsMiddleware,
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


class CredentialsMiddleware(JWTCookieAuthenticationMiddleware):
    """Tells the credential apart by its shape before anything costly: an API key starts with
    `rly_` (a JWT cannot), a viewer token comes as `?token=` without an Authorization header.
    Everything else is the session JWT, header first, then the cookie."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        _, _, bearer = connection.headers.get("authorization", "").partition(" ")
        if bearer.startswith(authentication.API_KEY_PREFIX):
            result = await authentication.authenticate(connection, bearer.strip())
        elif not bearer and (token := connection.query_params.get(tokens.QUERY_PARAMETER)):
            result = tokens.authenticate(connection, token, self.token_secret)
        else:
            return await super().authenticate_request(connection)
        if result.user.read_only and not reads_only(connection):
            raise Problem(
                403,
                "This credential may only read (a `read` API key or a viewer token); "
                "use a `full` key to change anything.",
                code="read_only",
            )
        return result


def reads_only(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    handler = connection.route_handler
    method = connection.scope.get("method", "GET")
    return method in SAFE_METHODS or bool(handler.opt.get(CHANGES_NOTHING))


class SessionTokens:
    """What the token endpoints need of the JWT auth: issue, read back and name the token.

    A plain class on purpose: Litestar resolves a dependency's type hints, and
    JWTCookieAuth's own hints name types it imports only for type checkers.
    """

    def __init__(self, jwt_auth: JWTCookieAuth[AuthUser, Token]) -> None:
        self._jwt_auth = jwt_auth
        self.cookie_key = jwt_auth.key

    def issue(
        self, user_id: uuid.UUID, email: str, ttl_seconds: int, *, auth_time: int | None = None
    ) -> str:
        """A new token; `auth_time` (unix seconds) is when the password was checked, kept across
        renewals so that a session cannot be renewed for ever."""
        return self._jwt_auth.create_token(
            identifier=str(user_id),
            token_expiration=timedelta(seconds=ttl_seconds),
            token_unique_jwt_id=secrets.token_urlsafe(16),
            token_extras={"email": email, "auth_time": auth_time or int(time.time())},
        )

    def read(self, encoded: str) -> Token | None:
        """The token if it is one of ours and still valid, else None."""
        try:
            auth = self._jwt_auth
            return Token.decode(encoded, auth.token_secret, auth.algorithm, require_claims=["jti"])
        except NotAuthorizedException:
            return None

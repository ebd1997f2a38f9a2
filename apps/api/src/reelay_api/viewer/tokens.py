"""Viewer tokens: signed, short-lived, naming one media item; checked without a lookup.

They are JWTs signed with a key derived from the JWT secret for this use alone, so a viewer
token is never a session (nor a session a viewer token), and nothing is stored per token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import Token
from reelay_core.db.models.base import utcnow

from reelay_api.auth.principal import AuthUser, Credential
from reelay_api.problems import Problem, not_found

ALGORITHM = "HS256"
MEDIA_CLAIM = "media"
QUERY_PARAMETER = "token"
DEFAULT_TTL_SECONDS = 3600
MAX_TTL_SECONDS = 86400


def signing_key(jwt_secret: str) -> str:
    return hmac.new(jwt_secret.encode(), b"reelay viewer token v1", hashlib.sha256).hexdigest()


def issue(
    jwt_secret: str, owner_id: uuid.UUID, media_id: uuid.UUID, ttl_seconds: int
) -> tuple[str, datetime]:
    expires_at = utcnow() + timedelta(seconds=ttl_seconds)
    token = Token(
        exp=expires_at,
        sub=str(owner_id),
        jti=secrets.token_urlsafe(12),
        extras={MEDIA_CLAIM: str(media_id)},
    )
    return token.encode(signing_key(jwt_secret), ALGORITHM), token.exp


async def viewer_access(
    connection: ASGIConnection[Any, AuthUser, Any, Any], _: BaseRouteHandler
) -> None:
    """The guard of every handler a viewer token may reach: its item only (another one is
    answered like a missing one). Other credentials pass; the handler checks ownership.

    Async although it awaits nothing: Litestar runs a sync guard in a worker thread, a thread
    hop on every request (~15 % of the API's CPU under load, py-spy)."""
    granted = connection.user.media_id
    if granted is not None and connection.path_params.get("media_id") != granted:
        raise not_found("media")


def authenticate(
    connection: ASGIConnection[Any, Any, Any, Any], encoded: str, jwt_secret: str
) -> AuthenticationResult:
    # Fail closed: a handler takes viewer tokens only when it carries their guard.
    # Litestar types `guards` as a list but leaves None where a handler has none; its resolved
    # list holds wrapped copies, so the handler's own list is the one to look in.
    guards = connection.route_handler.guards or []
    if viewer_access not in guards:
        raise Problem(
            401,
            "A viewer token grants only GET /videos/{id}, its events, HLS playlists and "
            "downloads; send an API key or a session token here.",
            code="viewer_token_not_accepted",
        )
    try:
        token = Token.decode(encoded, signing_key(jwt_secret), ALGORITHM, require_claims=["jti"])
        owner_id = uuid.UUID(token.sub)
        media_id = uuid.UUID(str(token.extras[MEDIA_CLAIM]))
    except (NotAuthorizedException, ValueError, KeyError):
        raise Problem(
            401,
            "The viewer token is invalid or has expired; ask the app for a new one.",
            code="bad_viewer_token",
        ) from None
    user = AuthUser(
        id=owner_id,
        email="",
        credential=Credential.VIEWER_TOKEN,
        read_only=True,
        media_id=media_id,
    )
    return AuthenticationResult(user=user, auth=token)


_URI_ATTRIBUTE = re.compile(r'URI="([^"]+)"')


def carry_token(playlist: str, encoded: str) -> str:
    """The master playlist with the viewer token added to the URIs it links on this API (the
    variant playlists), so that a player given the master URL can follow it."""

    def with_token(uri: str) -> str:
        if "://" in uri:
            return uri  # presigned storage URLs carry their own signature
        return f"{uri}{'&' if '?' in uri else '?'}{QUERY_PARAMETER}={encoded}"

    lines = []
    for line in playlist.splitlines():
        if line and not line.startswith("#"):
            line = with_token(line)
        elif line.startswith("#"):
            line = _URI_ATTRIBUTE.sub(lambda match: f'URI="{with_token(match[1])}"', line)
        lines.append(line)
    return "\n".join(lines) + "\n"

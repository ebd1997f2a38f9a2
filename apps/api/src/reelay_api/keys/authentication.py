"""Recognising an API key on a request: looked up by its hash every time, so a revoked key stops
at once; `last_used_at` is written at most once a minute per key, off the request's path."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import Token
from reelay_core.db.models import ApiKeyScope
from reelay_core.db.models.base import utcnow

from reelay_api.auth.principal import AuthUser, Credential
from reelay_api.keys import repository
from reelay_api.keys.service import API_KEY_PREFIX, hash_key, stream_token_id
from reelay_api.problems import Problem
from reelay_api.resources import Resources

__all__ = ["API_KEY_PREFIX", "authenticate"]

log = logging.getLogger(__name__)
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Keys whose last_used_at write is under way in this process, and the tasks doing it (kept so
# that they are not collected mid-flight).
_touching: set[uuid.UUID] = set()
_tasks: set[asyncio.Task[None]] = set()


async def authenticate(
    connection: ASGIConnection[Any, Any, Any, Any], key: str
) -> AuthenticationResult:
    resources: Resources = connection.app.state.resources
    async with resources.sessions() as db:
        found = await repository.find_by_hash(db, hash_key(key))
    if found is None:
        raise Problem(
            401,
            "This API key is not valid: it was revoked, or mistyped. Make a new one with "
            "`reelay keys create`.",
            code="bad_api_key",
        )
    api_key, email = found
    now = utcnow()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        touch_later(resources, api_key.id)
    user = AuthUser(
        id=api_key.owner_id,
        email=email,
        credential=Credential.API_KEY,
        read_only=api_key.scope == ApiKeyScope.READ,
    )
    # An event stream ends when its token does, and asks whether it was revoked: a key's
    # token lives as long as a session's and is revoked with the key.
    token = Token(
        exp=now + timedelta(seconds=resources.settings.token_ttl_seconds),
        sub=str(api_key.owner_id),
        jti=stream_token_id(api_key.id),
        extras={"email": email},
    )
    return AuthenticationResult(user=user, auth=token)


def touch_later(resources: Resources, key_id: uuid.UUID) -> None:
    if key_id in _touching:
        return
    _touching.add(key_id)
    task = asyncio.create_task(touch(resources, key_id))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def touch(resources: Resources, key_id: uuid.UUID) -> None:
    try:
        async with resources.sessions() as db:
            await repository.touch(db, key_id, utcnow(), LAST_USED_RESOLUTION)
            await db.commit()
    except Exception:
        # Bookkeeping only: the request it came from has been served either way.
        log.warning("could not record the use of API key %s", key_id, exc_info=True)
    finally:
        _touching.discard(key_id)

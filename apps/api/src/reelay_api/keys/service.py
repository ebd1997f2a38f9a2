"""Making and revoking API keys. Only the key's SHA-256 is stored: a read of the table (a
backup, a leaked dump) gives no usable key."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from redis.asyncio import Redis
from reelay_core.db import models as m
from reelay_core.db.models import ApiKeyScope
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_api.auth import revocation
from reelay_api.keys import repository
from reelay_api.problems import Problem, not_found

# Recognisable in logs and by secret scanners, and told apart from a JWT without decoding.
API_KEY_PREFIX = "rly_"
MAX_KEYS_PER_USER = 100


def new_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)  # 256 random bits


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def stream_token_id(key_id: uuid.UUID) -> str:
    """The `jti` of the token a key's requests carry (keys/authentication.py): revoking the key
    revokes it too, which ends the key's open event streams."""
    return f"api-key:{key_id}"


async def create(
    db: AsyncSession, owner_id: uuid.UUID, name: str, scope: ApiKeyScope
) -> tuple[m.ApiKey, str]:
    if await repository.count_owned(db, owner_id) >= MAX_KEYS_PER_USER:
        raise Problem(
            409,
            f"This account already has {MAX_KEYS_PER_USER} API keys; revoke unused ones first.",
            code="too_many_keys",
        )
    key = new_key()
    api_key = m.ApiKey(owner_id=owner_id, name=name, scope=scope, key_hash=hash_key(key))
    db.add(api_key)
    await db.flush()
    return api_key, key


async def revoke(
    db: AsyncSession, redis: Redis, owner_id: uuid.UUID, key_id: uuid.UUID, stream_ttl: int
) -> None:
    api_key = await repository.get_owned(db, key_id, owner_id)
    if api_key is None:
        raise not_found("API key")
    await db.delete(api_key)
    await db.flush()
    # New requests stop at once (the row is gone); streams opened with the key stop within
    # their revocation check interval.
    await revocation.revoke_id(redis, stream_token_id(key_id), stream_ttl)

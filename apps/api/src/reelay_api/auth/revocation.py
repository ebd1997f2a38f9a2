"""Revoked tokens: a denylist in Redis, keyed by the token's `jti`, kept until the token expires.

Every API process shares it, so a logout holds on all of them at once. A Redis outage fails
closed: the check raises, and the request is answered 503 rather than trusted unchecked.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from litestar.security.jwt import Token
from redis.asyncio import Redis

KEY_PREFIX = "reelay:revoked-token:"


def seconds_left(token: Token) -> float:
    return (token.exp - datetime.now(UTC)).total_seconds()


async def revoke(redis: Redis, token: Token) -> None:
    # Once the token has expired, its signature check refuses it anyway: the key goes too.
    ttl = math.ceil(seconds_left(token))
    if isinstance(token.jti, str) and ttl > 0:
        await revoke_id(redis, token.jti, ttl)


async def revoke_id(redis: Redis, jti: str, ttl: int) -> None:
    """Revoke tokens named `jti` for `ttl` seconds, longer than any of them lives."""
    await redis.set(f"{KEY_PREFIX}{jti}", 1, ex=ttl)


async def is_revoked(redis: Redis, token: Token) -> bool:
    return not token.jti or bool(await redis.exists(f"{KEY_PREFIX}{token.jti}"))

"""How long one SSE stream may run: while the token that opened it is neither expired nor revoked.

Auth checks a token once, when the stream opens; a stream can outlive that by hours. A timer
ends it when its token expires (`EventHub.subscribe`), and the heartbeat asks Redis about all of
a process's streams at once (`revoked`) every `heartbeat.INTERVAL_SECONDS`: a logout reaches
open streams that late at most.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from litestar.security.jwt import Token
from redis.asyncio import Redis
from redis.exceptions import RedisError

from reelay_api.auth import revocation

REVOCATION_CHECK_SECONDS = 15.0


class StreamGrant:
    def __init__(self, token: Token, redis: Redis) -> None:
        self.token = token
        self.redis = redis
        self.next_check = time.monotonic() + REVOCATION_CHECK_SECONDS  # auth has just checked

    @property
    def jti(self) -> str | None:
        return self.token.jti if isinstance(self.token.jti, str) else None

    def seconds_left(self) -> float:
        return max(0.0, revocation.seconds_left(self.token))

    def expired(self) -> bool:
        return self.seconds_left() <= 0

    # For a stream that checks its own grant (webhooks/events): at most one Redis round trip
    # per interval; the media streams leave this to the heartbeat.

    def wait_at_most(self, seconds: float) -> float:
        """`seconds`, cut short where the token expires first: the stream wakes up to end."""
        return max(0.0, min(seconds, revocation.seconds_left(self.token)))

    async def holds(self) -> bool:
        if self.expired():
            return False
        now = time.monotonic()
        if now < self.next_check:
            return True
        try:
            revoked = await revocation.is_revoked(self.redis, self.token)
        except RedisError:
            return True  # rides out a Redis outage; asks again at its next wake-up
        self.next_check = now + REVOCATION_CHECK_SECONDS
        return not revoked


async def revoked(redis: Redis, grants: Iterable[StreamGrant]) -> set[str]:
    """The token ids among `grants` that are revoked, in one Redis round trip (RedisError if
    Redis is away: then nothing can be revoked meanwhile either, logout needs it too)."""
    jtis = sorted({grant.jti for grant in grants if grant.jti})
    if not jtis:
        return set()
    found = await redis.mget([f"{revocation.KEY_PREFIX}{jti}" for jti in jtis])
    return {jti for jti, value in zip(jtis, found, strict=True) if value is not None}

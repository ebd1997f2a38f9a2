"""How long one SSE stream may run: while the token that opened it is neither expired nor revoked.

Auth checks a token once, when the stream opens; a stream can outlive that by hours, so the
stream itself asks again whenever it wakes up.
"""

from __future__ import annotations

import time

from litestar.security.jwt import Token
from redis.asyncio import Redis
from redis.exceptions import RedisError

from reelay_api.auth import revocation

# At most one Redis round trip per stream per interval: a logout reaches open streams this late.
REVOCATION_CHECK_SECONDS = 15.0


class StreamGrant:
    def __init__(self, token: Token, redis: Redis) -> None:
        self.token = token
        self.redis = redis
        # Auth has just checked the token.
        self.next_check = time.monotonic() + REVOCATION_CHECK_SECONDS

    def wait_at_most(self, seconds: float) -> float:
        """`seconds`, cut short where the token expires first: the stream wakes up to end."""
        return max(0.0, min(seconds, revocation.seconds_left(self.token)))

    async def holds(self) -> bool:
        if revocation.seconds_left(self.token) <= 0:
            return False
        now = time.monotonic()
        if now < self.next_check:
            return True
        try:
            revoked = await revocation.is_revoked(self.redis, self.token)
        except RedisError:
            # Unlike a new request (503), an open stream rides out a Redis outage, as it does
            # for its events: nothing can be revoked meanwhile, logout needs Redis too. It asks
            # again at its next wake-up.
            return True
        self.next_check = now + REVOCATION_CHECK_SECONDS
        return not revoked

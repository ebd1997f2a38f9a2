"""Rate limits counted in Redis per client address, so every API process shares one count.

The address is the peer's own unless the request came through a trusted proxy
(`REELAY_TRUSTED_PROXIES`): only then does uvicorn replace it with X-Forwarded-For.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from reelay_core.settings import Settings

from reelay_api.problems import Problem

KEY_PREFIX = "reelay:rate:"
WINDOW_SECONDS = 60


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options: believe X-Forwarded-For only from the configured proxies.

    uvicorn's own default believes it from 127.0.0.1, where any local process (or a reverse
    proxy passing the header through) could then pick a new address per request.
    """
    trusted = settings.trusted_proxies.strip()
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


def client_key(scope: Scope) -> str:
    """Who is counted: the client address, an IPv6 client by its /64 (one host's usual share)."""
    client = scope.get("client")
    host = client[0] if client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # a unix socket peer
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class RateLimit(ASGIMiddleware):
    """At most `per_minute` requests per client in a window that opens with its first request.

    One Redis round trip: INCR is atomic, so concurrent requests on any number of processes
    cannot both take the last slot. A Redis outage answers 503, as every Redis failure does.
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, name: str, per_minute: int, exclude: list[str]) -> None:
        self.name = name
        self.per_minute = per_minute
        self.exclude_path_pattern = tuple(exclude)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        redis = scope["litestar_app"].state.resources.redis
        key = f"{KEY_PREFIX}{self.name}:{client_key(scope)}"
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, WINDOW_SECONDS, nx=True)
            pipe.ttl(key)
            count, _, ttl = await pipe.execute()
        reset = max(int(ttl), 1)
        headers = {
            "RateLimit-Limit": str(self.per_minute),
            "RateLimit-Remaining": str(max(self.per_minute - count, 0)),
            "RateLimit-Reset": str(reset),
        }
        if count > self.per_minute:
            raise Problem(
                429,
                f"Too many requests from this address: at most {self.per_minute} a minute. "
                f"Try again in {reset} s.",
                code="rate_limited",
                headers={**headers, "Retry-After": str(reset)},
            )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                MutableScopeHeaders.from_message(message).update(headers)
            await send(message)

        await next_app(scope, receive, send_with_headers)

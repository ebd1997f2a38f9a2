"""Follow one media item's progress events until a terminal one, reconnecting like EventSource.

A dropped stream (server restart, 503 while it starts, proxy timeout, network blip) is reopened
with Last-Event-ID for as long as it takes, so no event is missed or seen twice. Only an answer
that waiting cannot change (401, 404) ends the wait early.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from reelay_cli.client.api import ApiError, ReelayClient

TERMINAL = frozenset({"completed", "failed", "canceled"})
FIRST_DELAY = 1.0
MAX_DELAY = 15.0
# Up to this share of each delay is taken off at random: clients cut off by the same restart
# do not all come back in the same second.
JITTER = 0.2
# Besides any 5xx (a server starting or overloaded, a proxy whose upstream is restarting), the
# answers that say "not now" rather than "no".
TRANSIENT_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class ProgressEvent:
    id: str
    event: str
    data: dict[str, Any]

    @property
    def terminal(self) -> bool:
        return self.event in TERMINAL


class Follower(Protocol):
    def __call__(self, event: ProgressEvent) -> None: ...

    def lost(self, reason: str) -> None:
        """The stream dropped; called once per outage, not once per try."""

    def back(self) -> None:
        """The stream is open again after `lost`."""


def reconnect_delay(failures: int, jitter: float) -> float:
    """Seconds before try number `failures` (1, 2, ...) to reopen a stream: 1, 2, 4, 8, 15, 15...
    less up to JITTER of it, as `jitter` goes from 0 to 1."""
    doublings = min(failures - 1, 8)  # 2 ** 8 is past the cap; a larger power overflows a float
    return min(MAX_DELAY, FIRST_DELAY * 2.0**doublings) * (1 - JITTER * jitter)


def transient(exc: ApiError) -> bool:
    return exc.status is not None and (exc.status >= 500 or exc.status in TRANSIENT_STATUSES)


def follow(client: ReelayClient, kind: str, media_id: str, follower: Follower) -> None:
    """Give `follower` every event in order, up to and including the terminal one."""
    last_id: str | None = None
    failures = 0
    while True:
        try:
            with client.events(kind, media_id, last_id) as source:
                if failures:
                    follower.back()
                failures = 0
                for sse in source.iter_sse():
                    if not sse.data:  # a retry hint or a heartbeat comment
                        continue
                    last_id = sse.id or last_id
                    event = ProgressEvent(sse.id, sse.event, parse(sse.data))
                    follower(event)
                    if event.terminal:
                        return
            reason = "the server closed the stream"
        except ApiError as exc:
            if not transient(exc):
                raise ApiError(f"stopped following {media_id}: {exc}", status=exc.status) from exc
            reason = str(exc)
        except httpx.HTTPError as exc:
            reason = describe(exc)
        failures += 1
        if failures == 1:
            follower.lost(reason)
        time.sleep(reconnect_delay(failures, random.random()))


def describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):  # refused, unknown host...: its words are short
        return str(exc) or "cannot connect"
    if isinstance(exc, httpx.TimeoutException):
        return "the stream went silent"
    return "the connection was cut"


def parse(data: str) -> dict[str, Any]:
    try:
        parsed: dict[str, Any] = json.loads(data)
    except ValueError as exc:
        # The same bytes would come again on every reconnect: this is no outage to wait out.
        raise ApiError(f"the server sent an event that is not JSON: {data[:200]!r}") from exc
    return parsed

"""Follow one media item's progress events until a terminal one, reconnecting like EventSource.

A dropped connection (server restart, proxy timeout, network blip) is retried after the
server's `retry:` hint with Last-Event-ID, so no event is missed or seen twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from reelay_cli.client.api import ApiError, ReelayClient

TERMINAL = frozenset({"completed", "failed", "canceled"})
DEFAULT_RETRY_MS = 3000
# Consecutive reconnects without receiving anything before giving up.
MAX_SILENT_RECONNECTS = 10


@dataclass(frozen=True)
class ProgressEvent:
    id: str
    event: str
    data: dict[str, Any]

    @property
    def terminal(self) -> bool:
        return self.event in TERMINAL


def follow(
    client: ReelayClient,
    kind: str,
    media_id: str,
    on_event: Callable[[ProgressEvent], None],
) -> None:
    """Call `on_event` for every event in order, up to and including the terminal one."""
    last_id: str | None = None
    retry_ms = DEFAULT_RETRY_MS
    silent = 0
    problem: Exception | None = None
    while silent < MAX_SILENT_RECONNECTS:
        try:
            with client.events(kind, media_id, last_id) as source:
                for sse in source.iter_sse():
                    if sse.retry is not None:
                        retry_ms = sse.retry
                    if not sse.data:  # a retry hint or a heartbeat comment
                        continue
                    silent = 0
                    last_id = sse.id or last_id
                    event = ProgressEvent(sse.id, sse.event, json.loads(sse.data))
                    on_event(event)
                    if event.terminal:
                        return
            problem = ConnectionError("the server closed the stream")
        except ApiError as exc:
            if exc.status is None or exc.status < 500:
                raise
            problem = exc
        except (httpx.HTTPError, ValueError) as exc:
            problem = exc
        silent += 1
        time.sleep(retry_ms / 1000)
    raise ApiError(f"lost the event stream of {media_id}: {problem}")

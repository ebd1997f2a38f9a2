"""Prometheus numbers of the live-progress fan-out, served on GET /metrics.

They make leaks observable from outside: after every SSE client has gone, subscriptions and
streams are back to 0 and the asyncio task count is back to what it was.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge

if TYPE_CHECKING:
    from reelay_api.events.hub import EventHub

SUBSCRIPTIONS = Gauge(
    "reelay_sse_subscriptions", "Event hub subscriptions (one per open SSE stream) in this process."
)
STREAMS = Gauge("reelay_sse_streams", "SSE responses being served by this process.")
TASKS = Gauge("reelay_asyncio_tasks", "asyncio tasks alive in this API process.")
HUB_CONNECTED = Gauge("reelay_event_hub_connected", "1 while the event hub is subscribed to Redis.")
PROGRESS_DROPPED = Counter(
    "reelay_sse_progress_dropped", "Progress events skipped for clients that fell behind."
)
RESYNCS = Counter(
    "reelay_sse_resyncs",
    "Times a stream re-read Postgres: it fell behind, saw a gap, or Redis was reconnected.",
)


def observe(hub: EventHub) -> None:
    """Read the hub's numbers at scrape time (the handler runs on the event loop's thread)."""
    loop = asyncio.get_running_loop()
    SUBSCRIPTIONS.set_function(lambda: hub.subscription_count)
    HUB_CONNECTED.set_function(lambda: 1 if hub.connected.is_set() else 0)
    TASKS.set_function(lambda: len(asyncio.all_tasks(loop)))

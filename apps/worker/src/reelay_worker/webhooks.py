"""The worker's webhook sender: a task beside arq's jobs that claims due deliveries and POSTs them.

It is woken by `reelay_core.webhooks.channels` after a commit that owes deliveries, when a send
ends, or when the next retry is due, and otherwise polls every `webhook_poll_seconds`. A send is
only network I/O on this event loop with at most `webhook_concurrency` in flight and a hard
timeout, so a slow receiver never holds a transcode (FFmpeg runs in its own processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from redis.exceptions import RedisError
from reelay_core.db.session import make_engine, make_session_factory
from reelay_core.effects import unit_of_work
from reelay_core.settings import Settings
from reelay_core.webhooks import addresses, channels, deliveries, signing
from reelay_core.webhooks.deliveries import Claimed, Outcome

from reelay_worker.resources import WorkerResources

log = logging.getLogger(__name__)
USER_AGENT = "reelay-webhooks/1"
PRUNE_INTERVAL_SECONDS = 3600.0


def policy(settings: Settings) -> deliveries.Policy:
    return deliveries.Policy(
        retry_window=timedelta(hours=settings.webhook_retry_hours),
        base_seconds=settings.webhook_retry_base_seconds,
        max_seconds=settings.webhook_retry_max_seconds,
    )


def lease_seconds(settings: Settings) -> float:
    """Longer than a send can take, so a live sender's row is never claimed twice."""
    return 2 * settings.webhook_timeout_seconds + 5


def host_header(target: addresses.Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default_port = 443 if target.scheme == "https" else 80
    return host if target.port == default_port else f"{host}:{target.port}"


async def send(
    http: httpx.AsyncClient, claimed: Claimed, *, allow_private: bool, time_limit: float
) -> Outcome:
    """POST one delivery, signed now, to the address its URL was checked to resolve to."""
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.EVENT_ID_HEADER: claimed.event_id,
        signing.SIGNATURE_HEADER: signing.signature_header(claimed.secret, timestamp, claimed.body),
    }
    try:
        async with asyncio.timeout(time_limit):
            target, address = await addresses.checked_address(
                claimed.url, allow_private=allow_private
            )
            # Connect to the checked address; Host and TLS (SNI, certificate) keep the name.
            url = httpx.URL(claimed.url).copy_with(host=str(address))
            async with http.stream(
                "POST",
                url,
                content=claimed.body,
                headers={**headers, "Host": host_header(target)},
                extensions={"sni_hostname": target.host},
            ) as response:
                status = response.status_code  # the body is never read
    except addresses.RefusedUrl as exc:
        return Outcome(None, str(exc))
    except TimeoutError:
        return Outcome(None, f"No answer within {time_limit:g} s.")
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if 200 <= status < 300:
        return Outcome(status)
    return Outcome(status, f"The endpoint answered HTTP {status}.")


class WebhookSender:
    def __init__(self, resources: WorkerResources) -> None:
        self.resources = resources
        self.settings = resources.settings
        self.policy = policy(resources.settings)
        self.http = httpx.AsyncClient(
            # No proxy from the environment (it would connect elsewhere than the checked
            # address), no redirects (a 3xx is a failed delivery, never followed).
            trust_env=False,
            follow_redirects=False,
            timeout=self.settings.webhook_timeout_seconds,
        )
        self.wake = asyncio.Event()
        self.in_flight: dict[asyncio.Task[None], uuid.UUID] = {}
        self.by_endpoint: Counter[uuid.UUID] = Counter()
        # A quarter of the slots at most for one endpoint: a slow one keeps the rest flowing.
        self.per_endpoint = max(1, self.settings.webhook_concurrency // 4)
        self.next_prune = 0.0  # at start, then every PRUNE_INTERVAL_SECONDS

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen(), name="webhook-wake-up")
        try:
            while True:
                self.wake.clear()
                try:
                    await self._prune_now_and_then()
                    await self._claim_and_send()
                    timeout = await self._seconds_to_wait()
                except Exception as exc:  # the database away: try again at the next poll
                    log.warning("webhook deliveries: %r", exc)
                    timeout = self.settings.webhook_poll_seconds
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self.wake.wait()
        finally:
            listener.cancel()
            for task in self.in_flight:
                task.cancel()  # their rows stay leased, and are sent again after the lease
            await asyncio.gather(listener, *self.in_flight, return_exceptions=True)
            await self.http.aclose()

    async def _claim_and_send(self) -> None:
        free = self.settings.webhook_concurrency - len(self.in_flight)
        if free <= 0:
            return
        async with unit_of_work(self.resources) as db:
            claimed = await deliveries.claim(
                db,
                limit=free,
                lease_seconds=lease_seconds(self.settings),
                per_endpoint=self.per_endpoint,
                in_flight=self.by_endpoint,
            )
        for delivery in claimed:
            task = asyncio.create_task(self._deliver(delivery))
            self.in_flight[task] = delivery.endpoint_id
            self.by_endpoint[delivery.endpoint_id] += 1
            task.add_done_callback(self._sent)

    async def _prune_now_and_then(self) -> None:
        if time.monotonic() < self.next_prune:
            return
        self.next_prune = time.monotonic() + PRUNE_INTERVAL_SECONDS
        async with unit_of_work(self.resources) as db:
            pruned = await deliveries.prune(
                db, older_than=timedelta(days=self.settings.webhook_log_days)
            )
        if pruned:
            log.info(
                "forgot %d webhook deliveries older than %g days",
                pruned,
                self.settings.webhook_log_days,
            )

    def _sent(self, task: asyncio.Task[None]) -> None:
        endpoint_id = self.in_flight.pop(task)
        self.by_endpoint[endpoint_id] -= 1
        if not self.by_endpoint[endpoint_id]:
            del self.by_endpoint[endpoint_id]
        self.wake.set()  # a slot is free, and a later event of the item may be due now

    @property
    def full_endpoints(self) -> list[uuid.UUID]:
        return [e for e, count in self.by_endpoint.items() if count >= self.per_endpoint]

    async def _seconds_to_wait(self) -> float:
        poll = self.settings.webhook_poll_seconds
        if len(self.in_flight) >= self.settings.webhook_concurrency:
            return poll  # a send ending wakes us
        async with self.resources.sessions() as db:
            due = await deliveries.seconds_until_due(db, full_endpoints=self.full_endpoints)
        return poll if due is None else min(poll, due)

    async def _deliver(self, claimed: Claimed) -> None:
        outcome = await send(
            self.http,
            claimed,
            allow_private=self.settings.webhook_allow_private,
            time_limit=self.settings.webhook_timeout_seconds,
        )
        try:
            async with unit_of_work(self.resources) as db:
                await deliveries.record(db, claimed, outcome, self.policy)
        except Exception as exc:  # the lease ends and it is sent again: at least once
            log.warning("could not record webhook delivery %s: %r", claimed.id, exc)
        log.info(
            "webhook %s %s (attempt %d) to %s: %s",
            claimed.type, claimed.event_id, claimed.attempt, claimed.endpoint_id,
            "delivered" if outcome.delivered else outcome.error,
        )  # fmt: skip

    async def _listen(self) -> None:
        while True:
            try:
                async with self.resources.redis.pubsub() as pubsub:
                    await pubsub.subscribe(channels.WAKE_CHANNEL)
                    self.wake.set()  # whatever was owed while no one listened
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self.wake.set()
            except (RedisError, OSError) as exc:
                log.warning("lost the webhook wake-up channel (%r); resubscribing", exc)
            await asyncio.sleep(1.0)


@contextlib.asynccontextmanager
async def sending(resources: WorkerResources) -> AsyncIterator[WebhookSender]:
    """The sender running for the life of the block (the worker's, from start-up to shutdown).

    It has a connection pool of its own: a burst of deliveries recording their outcomes never
    makes a transcode wait for a connection to report its progress."""
    engine = make_engine(str(resources.settings.database_url), pool_size=2, name="reelay-webhooks")
    own = dataclasses.replace(resources, engine=engine, sessions=make_session_factory(engine))
    sender = WebhookSender(own)
    task = asyncio.create_task(sender.run(), name="webhook-sender")
    try:
        yield sender
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await engine.dispose()

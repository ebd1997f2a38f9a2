"""A receiver that is down for a while gets every event once it is back, in order per item."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.webhooks.conftest import add_webhook, deliveries
from tests.support.client import Account
from tests.support.factories import upload_and_complete
from tests.support.waits import JOB_DEADLINE, until, wait_terminal
from tests.support.webhook_receiver import Receiver

EXPECTED = ["media.queued", "media.failed", "media.queued", "media.failed", "media.deleted"]


async def test_every_event_arrives_in_order_after_the_receiver_returns(
    api: httpx.AsyncClient, alice: Account, receiver: Receiver, garbage: Path
) -> None:
    webhook = await add_webhook(api, alice, receiver.url)
    receiver.stop()
    # Two items, each queued, failed (not a video), retried, failed again and deleted.
    items = [(await upload_and_complete(api, alice, garbage))["id"] for _ in range(2)]
    for media_id in items:
        assert (await wait_terminal(api, alice, media_id))["status"] == "failed"
        retried = await api.post(f"/videos/{media_id}/retry", headers=alice.headers)
        assert retried.status_code == 202, retried.text
    for media_id in items:
        assert (await wait_terminal(api, alice, media_id))["status"] == "failed"
        assert (await api.delete(f"/videos/{media_id}", headers=alice.headers)).status_code == 204

    async def retried_while_down() -> bool:
        log = await deliveries(api, alice, webhook["id"])
        if len(log) != 2 * len(EXPECTED):
            return False
        firsts = [d for d in log if d["attempts"] >= 2]
        # Only each item's first event is tried: the later ones wait behind it.
        later = [d for d in log if d not in firsts]
        return len(firsts) == 2 and all(d["attempts"] == 0 for d in later)

    await until(retried_while_down, what="the first events retried, the others held back")

    receiver.start()

    def all_arrived() -> bool:
        ids = {r.event_id for r in receiver.delivered()}
        return len(ids) == 2 * len(EXPECTED)

    await until(all_arrived, what="every event delivered", within=JOB_DEADLINE)
    for media_id in items:
        seen: list[str] = []
        for received in receiver.delivered():
            event = received.event
            if event["data"]["id"] == media_id and received.event_id not in seen:
                seen.append(received.event_id)
                assert event["type"] == EXPECTED[len(seen) - 1], (media_id, event["type"], seen)
        assert len(seen) == len(EXPECTED)
    log = await deliveries(api, alice, webhook["id"])
    assert all(d["status"] == "delivered" for d in log), log

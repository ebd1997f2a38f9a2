"""A processed video's events reach the receiver signed, in order, and retried under one id."""

from __future__ import annotations

from pathlib import Path

import httpx
from reelay_cli.webhooks import verify_signature

from tests.integration.webhooks.conftest import add_webhook, deliveries
from tests.support.client import Account
from tests.support.factories import upload_and_complete
from tests.support.processes import AppProcesses
from tests.support.waits import JOB_DEADLINE, until, wait_terminal
from tests.support.webhook_receiver import Receiver


async def test_events_arrive_signed_in_order_and_retries_keep_their_id(
    api: httpx.AsyncClient, alice: Account, receiver: Receiver, clip: Path
) -> None:
    webhook = await add_webhook(api, alice, receiver.url)
    receiver.answer_next(500)  # the first attempt fails: it must come again, the same
    queued = await upload_and_complete(api, alice, clip)
    done = await wait_terminal(api, alice, queued["id"])
    assert done["status"] == "completed", done

    def arrived() -> list[str]:
        types = [r.event["type"] for r in receiver.delivered()]
        return types if "media.completed" in types else []

    types = await until(arrived, what="media.completed delivered", within=JOB_DEADLINE)
    first = receiver.received[0]
    assert first.answered == 500
    retried = [r for r in receiver.received if r.event_id == first.event_id]
    assert len(retried) >= 2 and all(r.body == first.body for r in retried), retried

    # In the order they happened, each once (a retried one is delivered once: 500, then 200).
    assert types == ["media.queued", "media.playable", "media.completed"], types
    for received in receiver.received:
        assert verify_signature(received.body, received.signature, webhook["secret"])
        event = received.event
        assert event["id"] == received.event_id and event["id"].startswith("evt_")
        assert event["data"]["id"] == queued["id"]
    # `data` is the media object as GET /videos/{id} shows it (docs/api.md's fields, at least).
    completed = receiver.delivered()[-1].event
    assert set(done) <= set(completed["data"]), set(done) - set(completed["data"])
    assert {"playable", "playable_at", "external_id", "metadata"} <= set(completed["data"])
    assert completed["data"]["status"] == "completed" and completed["data"]["playable"] is True
    assert completed["data"]["outputs"] == done["outputs"]

    log = await deliveries(api, alice, webhook["id"])
    by_type = {item["type"]: item for item in log}
    assert by_type["media.queued"]["attempts"] >= 2
    assert by_type["media.queued"]["event_id"] == first.event_id
    assert all(item["status"] == "delivered" for item in log), log
    assert all(item["response_status"] == 200 for item in log), log


async def test_only_subscribed_events_are_sent_and_a_ping_reaches_its_endpoint(
    api: httpx.AsyncClient, alice: Account, receiver: Receiver
) -> None:
    webhook = await add_webhook(api, alice, receiver.url, ["media.canceled"])
    created = await api.post(
        "/videos",
        json={"filename": "a.mp4", "content_type": "video/mp4", "size": 1000},
        headers=alice.headers,
    )
    media_id = created.json()["id"]
    canceled = await api.post(f"/videos/{media_id}/cancel", headers=alice.headers)
    assert canceled.status_code == 202, canceled.text
    deleted = await api.delete(f"/videos/{media_id}", headers=alice.headers)
    assert deleted.status_code == 204
    ping = await api.post(f"/webhooks/{webhook['id']}/ping", headers=alice.headers)
    assert ping.status_code == 202, ping.text

    await until(lambda: len(receiver.delivered()) == 2, what="the cancel and the ping arrive")
    events = [r.event for r in receiver.delivered()]
    assert {e["type"] for e in events} == {"media.canceled", "ping"}, events
    assert ping.json()["event_id"] in {e["id"] for e in events}
    assert all(verify_signature(r.body, r.signature, webhook["secret"]) for r in receiver.received)


async def test_a_slow_endpoint_holds_a_few_slots_and_the_others_flow(
    api: httpx.AsyncClient, alice: Account, receiver: Receiver, apps: AppProcesses
) -> None:
    """An endpoint that does not answer takes at most a quarter of a worker's sending slots
    (4 of the 16): the rest keep serving the other endpoints."""
    slow = Receiver()
    slow.start()
    slow.hold()
    try:
        await add_webhook(api, alice, slow.url, ["media.canceled"])
        await add_webhook(api, alice, receiver.url, ["media.canceled"])
        for _ in range(20):
            created = await api.post(
                "/videos",
                json={"filename": "a.mp4", "content_type": "video/mp4", "size": 1000},
                headers=alice.headers,
            )
            canceled = await api.post(
                f"/videos/{created.json()['id']}/cancel", headers=alice.headers
            )
            assert canceled.status_code == 202, canceled.text
        await until(lambda: len(receiver.delivered()) == 20, what="all 20 at the answering one")
        assert 1 <= len(slow.received) <= 4 * len(apps.workers), len(slow.received)
    finally:
        slow.let_go()
        slow.stop()

"""SIGKILL of the worker sending a delivery loses nothing: the row's lease ends and another
worker sends it again, under the same event id; what is owed while no worker runs waits."""

from __future__ import annotations

import httpx
from reelay_cli.webhooks import verify_signature

from tests.integration.webhooks.conftest import add_webhook, deliveries
from tests.support.client import Account
from tests.support.processes import AppProcesses
from tests.support.waits import until
from tests.support.webhook_receiver import Receiver


async def test_a_delivery_cut_off_by_sigkill_is_sent_again(
    apps: AppProcesses, api: httpx.AsyncClient, alice: Account, receiver: Receiver
) -> None:
    webhook = await add_webhook(api, alice, receiver.url)
    receiver.hold()
    ping = await api.post(f"/webhooks/{webhook['id']}/ping", headers=alice.headers)
    assert ping.status_code == 202, ping.text
    await until(receiver.arrived.is_set, what="the ping reaches the receiver, which holds it")

    for worker in list(apps.workers):
        apps.kill_worker(worker)  # SIGKILL, mid-request: nothing recorded the delivery
    receiver.let_go()
    # Owed while no worker runs: a canceled upload (the API alone records it).
    created = await api.post(
        "/videos",
        json={"filename": "a.mp4", "content_type": "video/mp4", "size": 1000},
        headers=alice.headers,
    )
    canceled = await api.post(f"/videos/{created.json()['id']}/cancel", headers=alice.headers)
    assert canceled.status_code == 202, canceled.text
    log = await deliveries(api, alice, webhook["id"])
    assert [d["status"] for d in log] == ["pending", "pending"], log

    apps.start_worker("worker-after-kill")

    def both_delivered() -> set[str]:
        types = {r.event["type"] for r in receiver.received[1:] if r.answered == 200}
        return types if types == {"ping", "media.canceled"} else set()

    await until(both_delivered, what="the ping again and the cancel delivered")
    ping_id = ping.json()["event_id"]
    pings = [r for r in receiver.received if r.event_id == ping_id]
    assert len(pings) == 2 and pings[0].body == pings[1].body, pings
    assert all(verify_signature(r.body, r.signature, webhook["secret"]) for r in pings)
    log = await deliveries(api, alice, webhook["id"])
    assert all(d["status"] == "delivered" for d in log), log
    assert {d["type"]: d["attempts"] for d in log} == {"ping": 2, "media.canceled": 1}

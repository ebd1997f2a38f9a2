"""/webhooks: per account, the secret shown once, private addresses refused (also at delivery
time), and an endpoint failing for its whole retry window disabled, saying why."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from reelay_api.webhooks.schemas import WebhookOut
from reelay_core.db import models as m
from reelay_core.db.models.base import utcnow
from reelay_core.settings import Settings
from reelay_core.webhooks import deliveries as outbox_rows
from reelay_core.webhooks.deliveries import Claimed, Outcome, Policy
from reelay_worker.webhooks import send
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from tests.integration.webhooks.conftest import add_webhook, deliveries
from tests.support.api_server import serve_app
from tests.support.client import Account, assert_problem, register
from tests.support.waits import until
from tests.support.webhook_receiver import Receiver


async def test_another_accounts_webhooks_are_not_found(
    api: httpx.AsyncClient, alice: Account, receiver: Receiver
) -> None:
    webhook = await add_webhook(api, alice, receiver.url)
    assert webhook["secret"].startswith("whsec_") and webhook["enabled"] is True
    bob = await register(api)
    api.cookies.clear()
    wid = webhook["id"]
    for method, path in [
        ("GET", f"/webhooks/{wid}/deliveries"),
        ("POST", f"/webhooks/{wid}/ping"),
        ("POST", f"/webhooks/{wid}/deliveries/{uuid.uuid4()}/redeliver"),
        ("DELETE", f"/webhooks/{wid}"),
    ]:
        assert_problem(await api.request(method, path, headers=bob.headers), 404, "webhook")
    assert (await api.get("/webhooks", headers=bob.headers)).json() == {"items": []}

    listed = (await api.get("/webhooks", headers=alice.headers)).json()["items"]
    assert [item["id"] for item in listed] == [wid]
    assert "secret" not in listed[0] and webhook["secret"] not in str(listed)
    assert set(listed[0]) == set(WebhookOut.model_fields)

    assert (await api.delete(f"/webhooks/{wid}", headers=alice.headers)).status_code == 204
    assert_problem(await api.get(f"/webhooks/{wid}/deliveries", headers=alice.headers), 404)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"url": "ftp://example.com/x", "events": ["media.completed"]}, ["http"]),
        ({"url": "https://example.com/x", "events": ["media.exploded"]}, []),
        ({"url": "https://example.com/x", "events": []}, []),
        ({"events": ["media.completed"]}, []),
    ],
)
async def test_bad_bodies_are_422(
    api: httpx.AsyncClient, alice: Account, body: dict[str, object], words: list[str]
) -> None:
    assert_problem(await api.post("/webhooks", json=body, headers=alice.headers), 422, *words)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:3000/api/webhooks",
        "http://localhost:3000/api/webhooks",
        "http://[::1]/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/hooks",
        "https://192.168.1.10/hooks",
    ],
)
async def test_private_addresses_are_refused_without_the_override(
    stack_settings: Settings, clean_state: None, url: str
) -> None:
    async with serve_app(stack_settings, webhook_allow_private=False) as api:
        account = await register(api)
        api.cookies.clear()
        answer = await api.post(
            "/webhooks", json={"url": url, "events": ["media.completed"]}, headers=account.headers
        )
        assert_problem(answer, 422, "public addresses")
        assert (await api.get("/webhooks", headers=account.headers)).json() == {"items": []}


async def test_delivery_time_check_refuses_a_private_address(receiver: Receiver) -> None:
    """A name may resolve elsewhere at delivery time than at creation: checked again, then the
    checked address is the one connected to."""
    claimed = Claimed(
        id=uuid.uuid4(),
        endpoint_id=uuid.uuid4(),
        url=receiver.url.replace("127.0.0.1", "localhost"),
        secret="whsec_x",
        event_id="evt_1",
        type="ping",
        attempt=1,
        created_at=utcnow(),
        body=b"{}",
    )
    async with httpx.AsyncClient(trust_env=False) as http:
        refused = await send(http, claimed, allow_private=False, time_limit=5)
        assert not refused.delivered and "public addresses" in (refused.error or "")
        assert receiver.received == []
        allowed = await send(http, claimed, allow_private=True, time_limit=5)
    assert allowed == Outcome(200)
    assert [r.event_id for r in receiver.received] == ["evt_1"]


async def test_redirects_are_not_followed(receiver: Receiver) -> None:
    receiver.answer_next(307)
    claimed = Claimed(
        id=uuid.uuid4(),
        endpoint_id=uuid.uuid4(),
        url=receiver.url,
        secret="whsec_x",
        event_id="evt_2",
        type="ping",
        attempt=1,
        created_at=utcnow(),
        body=b"{}",
    )
    async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as http:
        outcome = await send(http, claimed, allow_private=True, time_limit=5)
    assert outcome.response_status == 307 and not outcome.delivered
    assert len(receiver.received) == 1


async def test_an_endpoint_failing_for_its_retry_window_is_disabled_and_a_ping_revives_it(
    api: httpx.AsyncClient, alice: Account, receiver: Receiver, stack_settings: Settings
) -> None:
    receiver.stop()  # down for good: every attempt fails
    webhook = await add_webhook(api, alice, receiver.url)
    ping = await api.post(f"/webhooks/{webhook['id']}/ping", headers=alice.headers)
    assert ping.status_code == 202

    async def failed_once() -> bool:
        return any(d["attempts"] >= 1 for d in await deliveries(api, alice, webhook["id"]))

    await until(failed_once, what="a failed attempt")
    # A day later, in the database's terms: the first failure and the event are 25 h old.
    engine = create_async_engine(str(stack_settings.database_url))
    try:
        day_ago = utcnow() - timedelta(hours=25)
        async with engine.begin() as conn:
            await conn.execute(
                update(m.WebhookEndpoint)
                .where(m.WebhookEndpoint.id == uuid.UUID(webhook["id"]))
                .values(failing_since=day_ago)
            )
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        policy = Policy(timedelta(hours=24), 0.5, 2.0)
        async with sessions() as db:
            claimed = Claimed(
                id=uuid.UUID(ping.json()["delivery_id"]),
                endpoint_id=uuid.UUID(webhook["id"]),
                url=receiver.url,
                secret=webhook["secret"],
                event_id=ping.json()["event_id"],
                type="ping",
                attempt=9,
                created_at=day_ago,
                body=b"{}",
            )
            await outbox_rows.record(db, claimed, Outcome(None, "ConnectError"), policy)
            await db.commit()
    finally:
        await engine.dispose()

    listed = (await api.get("/webhooks", headers=alice.headers)).json()["items"][0]
    assert listed["enabled"] is False
    assert "no delivery succeeded for 24 h" in listed["disabled_reason"]
    assert "ConnectError" in listed["disabled_reason"]
    log = await deliveries(api, alice, webhook["id"])
    assert [d["status"] for d in log] == ["failed"], log

    receiver.start()
    again = await api.post(f"/webhooks/{webhook['id']}/ping", headers=alice.headers)
    assert again.status_code == 202
    await until(lambda: receiver.delivered(), what="the new ping delivered")
    listed = (await api.get("/webhooks", headers=alice.headers)).json()["items"][0]
    assert listed["enabled"] is True and listed["disabled_reason"] is None
    redeliver = await api.post(
        f"/webhooks/{webhook['id']}/deliveries/{ping.json()['delivery_id']}/redeliver",
        headers=alice.headers,
    )
    assert redeliver.status_code == 202, redeliver.text
    await until(
        lambda: ping.json()["event_id"] in {r.event_id for r in receiver.delivered()},
        what="the failed ping redelivered under its own event id",
    )


async def test_a_read_key_may_list_not_change_and_a_viewer_token_is_refused(
    api: httpx.AsyncClient, alice: Account, receiver: Receiver
) -> None:
    webhook = await add_webhook(api, alice, receiver.url)
    made = await api.post(
        "/api-keys", json={"name": "reader", "scope": "read"}, headers=alice.headers
    )
    assert made.status_code == 201, made.text
    reader = {"Authorization": f"Bearer {made.json()['key']}"}
    listed = await api.get("/webhooks", headers=reader)
    assert [item["id"] for item in listed.json()["items"]] == [webhook["id"]]
    body = {"url": receiver.url, "events": ["media.completed"]}
    assert_problem(await api.post("/webhooks", json=body, headers=reader), 403)
    assert_problem(await api.post(f"/webhooks/{webhook['id']}/ping", headers=reader), 403)
    assert_problem(await api.delete(f"/webhooks/{webhook['id']}", headers=reader), 403)

    created = await api.post(
        "/videos",
        json={"filename": "a.mp4", "content_type": "video/mp4", "size": 1000},
        headers=alice.headers,
    )
    token = await api.post(f"/videos/{created.json()['id']}/tokens", json={}, headers=alice.headers)
    assert token.status_code == 201, token.text
    viewer = {"token": token.json()["token"]}
    assert_problem(await api.get("/webhooks", params=viewer), 401)
    assert_problem(await api.get("/webhooks/events", params=viewer), 401)


async def test_an_account_has_at_most_twenty_endpoints(
    api: httpx.AsyncClient, alice: Account, receiver: Receiver
) -> None:
    for n in range(20):
        await add_webhook(api, alice, f"{receiver.url}/{n}")
    body = {"url": receiver.url, "events": ["media.completed"]}
    assert_problem(await api.post("/webhooks", json=body, headers=alice.headers), 409, "20")

"""`reelay webhooks ...` against the real stack, and `listen` forwarding live events, signed."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from reelay_cli.webhooks import verify_signature

from tests.support.cli_runner import REELAY, Cli
from tests.support.processes import AppProcesses
from tests.support.waits import until
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e
EMAIL, PASSWORD = "hooks@example.com", "correct horse battery"
SECRET = "whsec_listen-test-secret"


@pytest.fixture
def user(apps: AppProcesses, clean_state: None, tmp_path: Path) -> Cli:
    cli = Cli(tmp_path / "config")
    cli.ok("register", "--server", apps.base_url, "--email", EMAIL, "--password", PASSWORD)
    return cli


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


async def canceled_upload(apps: AppProcesses) -> str:
    """An upload started and canceled by the account: a media.canceled event."""
    async with httpx.AsyncClient(base_url=apps.base_url, timeout=30) as api:
        login = await api.post("/auth/token", json={"email": EMAIL, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        body = {"filename": "a.mp4", "content_type": "video/mp4", "size": 1000}
        media_id: str = (await api.post("/videos", json=body, headers=headers)).json()["id"]
        assert (await api.post(f"/videos/{media_id}/cancel", headers=headers)).status_code == 202
        return media_id


async def test_create_list_ping_deliveries_redeliver_delete(user: Cli, receiver: Receiver) -> None:
    created = user.ok("webhooks", "create", receiver.url, "-e", "media.canceled", "--json").json()
    assert created["secret"].startswith("whsec_") and created["events"] == ["media.canceled"]
    listed = user.ok("webhooks", "list").stdout
    assert created["id"] in listed and receiver.url in listed and "whsec_" not in listed

    pinged = user.ok("webhooks", "ping", created["id"])
    assert "ping evt_" in pinged.stdout
    await until(lambda: receiver.delivered(), what="the ping delivered")
    assert verify_signature(
        receiver.received[0].body, receiver.received[0].signature, created["secret"]
    )

    log = user.ok("webhooks", "deliveries", created["id"], "--json").json()
    assert [(d["type"], d["status"]) for d in log] == [("ping", "delivered")]
    user.ok("webhooks", "redeliver", created["id"], log[0]["id"])
    await until(lambda: len(receiver.delivered()) == 2, what="the ping delivered again")
    assert receiver.received[1].event_id == receiver.received[0].event_id

    refused = user.run("webhooks", "create", "ftp://example.com/hook")
    assert refused.code == 1 and "(HTTP 422)" in refused.reason
    user.ok("webhooks", "delete", created["id"])
    assert user.ok("webhooks", "list", "--json").json() == []
    gone = user.run("webhooks", "ping", created["id"])
    assert gone.code == 1 and "(HTTP 404)" in gone.reason


async def test_listen_forwards_the_accounts_events_signed(
    user: Cli, apps: AppProcesses, receiver: Receiver, tmp_path: Path
) -> None:
    out, err = tmp_path / "listen.out", tmp_path / "listen.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        listen = await asyncio.create_subprocess_exec(
            *[str(REELAY), "webhooks", "listen", "--forward-to", receiver.url, "--secret", SECRET],
            env=user.env(),
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
    try:
        await until(lambda: "listening" in err.read_text(), what="listen connects")
        media_id = await canceled_upload(apps)
        await until(lambda: receiver.delivered(), what="the event forwarded")
        await until(lambda: "media.canceled" in out.read_text(), what="the line printed")
    finally:
        listen.terminate()
        await asyncio.wait_for(listen.wait(), 10)
    forwarded = receiver.delivered()[0]
    assert verify_signature(forwarded.body, forwarded.signature, SECRET)
    event = forwarded.event
    assert event["type"] == "media.canceled" and event["data"]["id"] == media_id
    assert forwarded.event_id == event["id"]
    assert f"{event['id']}  → 200 OK" in out.read_text()

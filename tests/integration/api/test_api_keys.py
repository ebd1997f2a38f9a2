"""API keys: made once and shown once, stored only as a hash, scoped, revoked at once."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from reelay_core.settings import Settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.client import Account, assert_problem
from tests.support.factories import create_media, media_body
from tests.support.sse import collect
from tests.support.waits import DEADLINE, until


@pytest.fixture
async def database(stack_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(str(stack_settings.database_url))
    try:
        yield engine
    finally:
        await engine.dispose()


async def make_key(
    api: httpx.AsyncClient, account: Account, scope: str = "full", name: str = "backend"
) -> dict[str, Any]:
    answer = await api.post(
        "/api-keys", json={"name": name, "scope": scope}, headers=account.headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def bearer(key: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['key']}"}


async def test_a_key_is_shown_once_and_stored_only_as_its_hash(
    api: httpx.AsyncClient, alice: Account, database: AsyncEngine
) -> None:
    created = await make_key(api, alice, name="production backend")
    assert created["key"].startswith("rly_") and len(created["key"]) > 40
    assert created["name"] == "production backend" and created["scope"] == "full"

    listed = await api.get("/api-keys", headers=alice.headers)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["id"] == created["id"] and "key" not in item and "key_hash" not in item
    assert created["key"] not in listed.text

    async with database.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM api_keys"))).mappings().one()
    stored = " ".join(str(value) for value in row.values())
    assert created["key"] not in stored and created["key"][4:] not in stored
    assert row["key_hash"] == hashlib.sha256(created["key"].encode()).hexdigest()


async def test_a_full_key_acts_as_its_owner(
    api: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    key = await make_key(api, alice)
    me = await api.get("/auth/me", headers=bearer(key))
    assert me.status_code == 200 and me.json()["id"] == alice.id

    made = await api.post("/videos", json=media_body(), headers=bearer(key))
    assert made.status_code == 201, made.text
    listed = await api.get("/videos", headers=alice.headers)
    assert [m["id"] for m in listed.json()["items"]] == [made.json()["id"]]

    bobs = await create_media(api, bob)
    assert_problem(await api.get(f"/videos/{bobs['id']}", headers=bearer(key)), 404)


async def test_a_read_key_reads_and_changes_nothing(api: httpx.AsyncClient, alice: Account) -> None:
    key = await make_key(api, alice, scope="read")
    media = await create_media(api, alice)
    assert (await api.get("/videos", headers=bearer(key))).status_code == 200
    assert (await api.get(f"/videos/{media['id']}", headers=bearer(key))).status_code == 200

    refusals = [
        await api.post("/videos", json=media_body(), headers=bearer(key)),
        await api.post(f"/videos/{media['id']}/cancel", headers=bearer(key)),
        await api.delete(f"/videos/{media['id']}", headers=bearer(key)),
    ]
    for answer in refusals:
        assert assert_problem(answer, 403, "read")["code"] == "read_only"
    after = await api.get(f"/videos/{media['id']}", headers=alice.headers)
    assert after.json()["status"] == "awaiting_upload"
    assert len((await api.get("/videos", headers=alice.headers)).json()["items"]) == 1

    # A viewer token stores nothing and grants less than the key: a read key may make one.
    token = await api.post(f"/videos/{media['id']}/tokens", json={}, headers=bearer(key))
    assert token.status_code == 201, token.text


async def test_a_revoked_key_stops_at_once(api: httpx.AsyncClient, alice: Account) -> None:
    key = await make_key(api, alice)
    other = await make_key(api, alice, name="other")
    assert (await api.get("/videos", headers=bearer(key))).status_code == 200

    revoked = await api.delete(f"/api-keys/{key['id']}", headers=alice.headers)
    assert revoked.status_code == 204, revoked.text
    assert assert_problem(await api.get("/videos", headers=bearer(key)), 401)["code"] == (
        "bad_api_key"
    )
    assert (await api.get("/videos", headers=bearer(other))).status_code == 200
    assert [
        k["id"] for k in (await api.get("/api-keys", headers=alice.headers)).json()["items"]
    ] == [other["id"]]
    assert_problem(await api.delete(f"/api-keys/{key['id']}", headers=alice.headers), 404)


async def test_a_made_up_key_is_refused(api: httpx.AsyncClient) -> None:
    for fake in ("rly_" + "A" * 43, "rly_", "rly_' OR 1=1 --"):
        answer = await api.get("/videos", headers={"Authorization": f"Bearer {fake}"})
        assert assert_problem(answer, 401)["code"] == "bad_api_key"


async def test_keys_are_managed_from_a_login_only(api: httpx.AsyncClient, alice: Account) -> None:
    key = await make_key(api, alice)
    answers = [
        await api.post("/api-keys", json={"name": "x", "scope": "full"}, headers=bearer(key)),
        await api.get("/api-keys", headers=bearer(key)),
        await api.delete(f"/api-keys/{key['id']}", headers=bearer(key)),
    ]
    for answer in answers:
        assert assert_problem(answer, 403, "login")["code"] == "login_required"
    assert (await api.get("/videos", headers=bearer(key))).status_code == 200


async def test_another_users_key_cannot_be_seen_or_revoked(
    api: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    key = await make_key(api, alice)
    assert (await api.get("/api-keys", headers=bob.headers)).json()["items"] == []
    assert_problem(await api.delete(f"/api-keys/{key['id']}", headers=bob.headers), 404)
    assert (await api.get("/videos", headers=bearer(key))).status_code == 200


async def test_last_used_at_is_recorded(api: httpx.AsyncClient, alice: Account) -> None:
    key = await make_key(api, alice)
    [fresh] = (await api.get("/api-keys", headers=alice.headers)).json()["items"]
    assert fresh["last_used_at"] is None
    assert (await api.get("/videos", headers=bearer(key))).status_code == 200

    async def used() -> str | None:
        [item] = (await api.get("/api-keys", headers=alice.headers)).json()["items"]
        return item["last_used_at"]

    assert await until(used, what="last_used_at is written after the key's request")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "scope": "full"},
        {"name": "x" * 101, "scope": "full"},
        {"name": "tab\there", "scope": "full"},
        {"name": "ok", "scope": "admin"},
        {"name": "ok"},
    ],
)
async def test_bad_key_requests_are_422(
    api: httpx.AsyncClient, alice: Account, body: dict[str, Any]
) -> None:
    assert_problem(await api.post("/api-keys", json=body, headers=alice.headers), 422)


async def test_a_stream_opened_with_a_key_ends_when_the_key_is_revoked(
    api: httpx.AsyncClient, alice: Account
) -> None:
    key = await make_key(api, alice)
    media = await create_media(api, alice)
    path = f"/videos/{media['id']}/events"
    async with api.stream("GET", path, headers=bearer(key), timeout=DEADLINE) as response:
        assert response.status_code == 200
        revoked = await api.delete(f"/api-keys/{key['id']}", headers=alice.headers)
        assert revoked.status_code == 204
        # The server closes the stream (at its next revocation check); a read timeout fails.
        await asyncio.wait_for(collect(response), timeout=DEADLINE)

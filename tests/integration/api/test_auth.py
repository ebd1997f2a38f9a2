"""/auth, and how media endpoints authenticate: bearer token, session cookie, expiry."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import httpx
import jwt
from reelay_core.settings import Settings

from tests.support.client import Account, assert_problem
from tests.support.factories import create_media
from tests.support.sse import read_events


def forge_token(
    settings: Settings, account: Account, *, expires_in: float, secret: str | None = None
) -> str:
    """A token shaped like the API's own, signed with the stack's secret (or another one)."""
    now = int(time.time())
    claims = {
        "sub": account.id,
        "iat": now - 60,
        "exp": int(now + expires_in),
        "jti": uuid.uuid4().hex,
        "extras": {"email": account.email},
    }
    return jwt.encode(claims, secret or settings.jwt_secret, algorithm="HS256")


async def test_register_log_in_and_me(api: httpx.AsyncClient, stack_settings: Settings) -> None:
    created = await api.post(
        "/auth/register", json={"email": "Ann@Example.com", "password": "long enough"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "ann@example.com" and created.json()["id"]

    token = await api.post(
        "/auth/token", json={"email": "ann@example.com", "password": "long enough"}
    )
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == stack_settings.token_ttl_seconds
    claims = jwt.decode(body["access_token"], stack_settings.jwt_secret, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == stack_settings.token_ttl_seconds

    cookie = token.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie

    me = await api.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json() | created.json() == me.json()
    # The token's own times, so that a page knows when to renew it.
    expires = datetime.fromisoformat(me.json()["expires_at"]).timestamp()
    assert expires == claims["exp"]


async def test_register_refuses_a_taken_email_and_short_password(
    api: httpx.AsyncClient, alice: Account
) -> None:
    taken = await api.post(
        "/auth/register", json={"email": alice.email.upper(), "password": "another one"}
    )
    assert_problem(taken, 409, "already registered")
    short = await api.post("/auth/register", json={"email": "new@example.com", "password": "short"})
    body = assert_problem(short, 422, "password", "at least 8")
    assert body["errors"][0]["key"] == "password"
    bad_email = await api.post(
        "/auth/register", json={"email": "not-an-email", "password": "long enough"}
    )
    assert_problem(bad_email, 422, "email")


async def test_token_refuses_bad_credentials(api: httpx.AsyncClient, alice: Account) -> None:
    wrong = await api.post("/auth/token", json={"email": alice.email, "password": "wrong password"})
    assert_problem(wrong, 401, "wrong email or password")
    assert "set-cookie" not in wrong.headers
    unknown = await api.post(
        "/auth/token", json={"email": "nobody@example.com", "password": "whatever1"}
    )
    assert_problem(unknown, 401, "wrong email or password")


async def test_media_endpoints_need_a_valid_token(
    api: httpx.AsyncClient, alice: Account, stack_settings: Settings
) -> None:
    assert_problem(await api.get("/videos"), 401, "authentication required")
    assert_problem(await api.get("/images"), 401, "authentication required")
    assert_problem(await api.get("/auth/me"), 401)
    assert_problem(await api.post("/videos/upload", content=b"--x--"), 401)
    for token in ["garbage", forge_token(stack_settings, alice, expires_in=600, secret="x" * 40)]:
        answer = await api.get("/videos", headers={"Authorization": f"Bearer {token}"})
        assert_problem(answer, 401, "authentication required")


async def test_an_expired_token_is_refused(
    api: httpx.AsyncClient, alice: Account, stack_settings: Settings
) -> None:
    fresh = forge_token(stack_settings, alice, expires_in=600)
    assert (
        await api.get("/videos", headers={"Authorization": f"Bearer {fresh}"})
    ).status_code == 200
    expired = forge_token(stack_settings, alice, expires_in=-5)
    answer = await api.get("/videos", headers={"Authorization": f"Bearer {expired}"})
    assert_problem(answer, 401, "authentication required")


async def test_the_session_cookie_authenticates_reads_and_events(
    apps, api: httpx.AsyncClient, alice: Account
) -> None:
    media_id = (await create_media(api, alice))["id"]
    assert (await api.post(f"/videos/{media_id}/cancel", headers=alice.headers)).status_code == 202

    async with httpx.AsyncClient(base_url=apps.base_url, timeout=30) as browser:
        logged_in = await browser.post(
            "/auth/token", json={"email": alice.email, "password": alice.password}
        )
        assert logged_in.status_code == 200 and browser.cookies.get("reelay_session")
        one = await browser.get(f"/videos/{media_id}")  # no Authorization header: the cookie alone
        assert one.status_code == 200 and one.json()["status"] == "canceled"
        events = await read_events(browser, f"/videos/{media_id}/events", {}, timeout=20)
        assert [e.event for e in events] == ["canceled"]

        browser.cookies.clear()
        assert_problem(await browser.get(f"/videos/{media_id}"), 401)

"""POST /auth/refresh: a new token for the one sent, the old one revoked, renewal capped."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import httpx
import jwt
from reelay_core.settings import Settings

from tests.support.client import Account, assert_problem


async def test_a_browser_session_is_renewed_and_the_old_cookie_stops_working(
    api: httpx.AsyncClient, alice: Account
) -> None:
    origin = {"Origin": str(api.base_url).rstrip("/")}
    async with httpx.AsyncClient(base_url=str(api.base_url), timeout=30) as browser:
        login = await browser.post(
            "/auth/token", json={"email": alice.email, "password": alice.password}
        )
        old_cookie = login.cookies["reelay_session"]
        me = (await browser.get("/auth/me")).json()
        assert datetime.fromisoformat(me["expires_at"]) > datetime.fromisoformat(me["issued_at"])

        renewed = await browser.post("/auth/refresh", headers=origin)
        assert renewed.status_code == 200, renewed.text
        new_cookie = renewed.cookies["reelay_session"]
        assert new_cookie != old_cookie and renewed.json()["expires_in"] > 0
        assert (await browser.get("/videos")).is_success

    async with httpx.AsyncClient(
        base_url=str(api.base_url), cookies={"reelay_session": old_cookie}, timeout=30
    ) as stale:
        assert_problem(await stale.get("/auth/me"), 401)


async def test_a_bearer_token_is_renewed_without_a_cookie(
    api: httpx.AsyncClient, alice: Account
) -> None:
    renewed = await api.post("/auth/refresh", headers=alice.headers)
    assert renewed.status_code == 200, renewed.text
    assert "reelay_session" not in renewed.cookies
    fresh = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    assert (await api.get("/auth/me", headers=fresh)).is_success
    assert_problem(await api.get("/auth/me", headers=alice.headers), 401)
    # The revoked token cannot renew itself either.
    assert_problem(await api.post("/auth/refresh", headers=alice.headers), 401)


async def test_renewal_stops_long_after_the_sign_in(
    api: httpx.AsyncClient, alice: Account, stack_settings: Settings
) -> None:
    now = int(time.time())
    signed_in = now - stack_settings.session_max_seconds - 60
    claims = {
        "sub": alice.id,
        "iat": now - 60,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "extras": {"email": alice.email, "auth_time": signed_in},
    }
    assert stack_settings.jwt_secret
    token = jwt.encode(claims, stack_settings.jwt_secret, algorithm="HS256")
    headers = {"Authorization": f"Bearer {token}"}
    body = assert_problem(await api.post("/auth/refresh", headers=headers), 401, "sign in")
    assert body["code"] == "session_too_old"
    # The token itself still works until it expires.
    assert (await api.get("/auth/me", headers=headers)).is_success


async def test_a_renewed_token_keeps_the_time_of_the_sign_in(
    api: httpx.AsyncClient, alice: Account
) -> None:
    first = jwt.decode(alice.token, options={"verify_signature": False})
    renewed = await api.post("/auth/refresh", headers=alice.headers)
    second = jwt.decode(renewed.json()["access_token"], options={"verify_signature": False})
    assert second["extras"]["auth_time"] == first["extras"]["auth_time"]
    assert second["jti"] != first["jti"]

"""Tokens, rate limits and quotas, attacked: a logged-out token, a stream that outlives its token,
a forged X-Forwarded-For, limits split across processes, and one user taking every slot."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import jwt
import pytest
from arq import ArqRedis
from reelay_api.auth import rate_limit
from reelay_core.settings import Settings

from tests.support.api_server import serve_app
from tests.support.client import Account, assert_problem, register
from tests.support.factories import create_media, media_body, post_form
from tests.support.media import MediaFactory
from tests.support.sse import messages
from tests.support.waits import DEADLINE

WRONG_PASSWORD = {"email": "nobody@example.com", "password": "wrong password"}


@pytest.fixture
def client_address() -> str:
    """A loopback address of this test's own: rate limits count per address, in Redis shared by
    the whole session, so every test is a client the limiter has not seen yet."""
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"


@asynccontextmanager
async def client_from(address: str, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=base_url, transport=transport, timeout=30) as client:
        yield client


async def log_in(api: httpx.AsyncClient, account: Account) -> httpx.Response:
    answer = await api.post(
        "/auth/token", json={"email": account.email, "password": account.password}
    )
    assert answer.status_code == 200, answer.text
    return answer


# -- logout revokes --------------------------------------------------------------------------


async def test_a_logged_out_bearer_token_is_refused_everywhere(api: httpx.AsyncClient) -> None:
    account = await register(api)
    api.cookies.clear()
    media_id = (await create_media(api, account))["id"]
    other = (await log_in(api, account)).json()["access_token"]  # a second session
    api.cookies.clear()

    logout = await api.post("/auth/logout", headers=account.headers)
    assert logout.status_code == 204, logout.text

    for path in ["/auth/me", "/videos", f"/videos/{media_id}", "/events"]:
        assert_problem(await api.get(path, headers=account.headers), 401)
    # Only that session ended.
    assert (await api.get("/auth/me", headers={"Authorization": f"Bearer {other}"})).is_success


async def test_a_logged_out_session_cookie_is_refused(api: httpx.AsyncClient) -> None:
    account = await register(api)
    api.cookies.clear()
    async with httpx.AsyncClient(base_url=str(api.base_url), timeout=30) as browser:
        cookie = (await log_in(browser, account)).cookies["reelay_session"]
        origin = {"Origin": str(api.base_url).rstrip("/")}
        logout = await browser.post("/auth/logout", headers=origin)
        assert logout.status_code == 204, logout.text
        assert "reelay_session" not in browser.cookies

    # An attacker who copied the cookie before the logout sends it again.
    async with httpx.AsyncClient(
        base_url=str(api.base_url), cookies={"reelay_session": cookie}, timeout=30
    ) as thief:
        assert_problem(await thief.get("/auth/me"), 401)
        assert_problem(await thief.get("/videos"), 401)


# -- streams end with their token ------------------------------------------------------------


async def read_until_closed(response: httpx.Response) -> list[str]:
    """The events and comments of a stream, read until the server ends it. Pings keep an open
    stream busy, so a stream that never ends fails at the deadline."""
    seen: list[str] = []
    async with asyncio.timeout(DEADLINE):
        async for message in messages(response):
            seen.append(message.event if message.is_event else ":".join(message.comments))
    return seen


async def test_an_event_stream_ends_when_its_token_is_revoked(api: httpx.AsyncClient) -> None:
    account = await register(api)
    media_id = (await create_media(api, account))["id"]
    cookie_session = (await log_in(api, account)).cookies["reelay_session"]
    api.cookies.clear()
    timeout = httpx.Timeout(DEADLINE * 2)
    user_stream = api.stream("GET", "/events", headers=account.headers, timeout=timeout)
    media_stream = api.stream(
        "GET",
        f"/videos/{media_id}/events",
        headers={"Cookie": f"reelay_session={cookie_session}"},
        timeout=timeout,
    )
    async with user_stream as by_header, media_stream as by_cookie:
        assert by_header.status_code == 200 and by_cookie.status_code == 200
        for token in [account.token, cookie_session]:
            logout = await api.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})
            assert logout.status_code == 204, logout.text
        header_seen, cookie_seen = await asyncio.gather(
            read_until_closed(by_header), read_until_closed(by_cookie)
        )
    # Each stream said hello and then, with nothing to report, ended.
    assert "connected" in header_seen and "connected" in cookie_seen


def short_lived_token(settings: Settings, account: Account, seconds: float) -> str:
    """A token as the API issues them, but expiring in `seconds`."""
    now = time.time()
    claims = {
        "sub": account.id,
        "iat": int(now),
        "exp": int(now + seconds),
        "jti": uuid.uuid4().hex,
        "extras": {"email": account.email},
    }
    assert settings.jwt_secret
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


async def test_an_event_stream_ends_when_its_token_expires(
    api: httpx.AsyncClient, stack_settings: Settings
) -> None:
    account = await register(api)
    api.cookies.clear()
    token = short_lived_token(stack_settings, account, seconds=3)
    async with api.stream(
        "GET",
        "/events",
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(DEADLINE * 2),
    ) as stream:
        assert stream.status_code == 200
        await read_until_closed(stream)
    assert_problem(await api.get("/events", headers={"Authorization": f"Bearer {token}"}), 401)


# -- rate limits -----------------------------------------------------------------------------


async def test_forged_x_forwarded_for_does_not_escape_the_limit(
    stack_settings: Settings, clean_state: None, arq_redis: ArqRedis
) -> None:
    # From 127.0.0.1, where uvicorn believes X-Forwarded-For by default. Other tests log in from
    # there too: this one starts from a clean count.
    await arq_redis.delete(f"{rate_limit.KEY_PREFIX}auth:127.0.0.1")
    async with serve_app(stack_settings, auth_rate_limit_per_minute=3) as attacker:
        for n in range(3):
            forged = {"X-Forwarded-For": f"203.0.113.{n}"}
            answer = await attacker.post("/auth/token", json=WRONG_PASSWORD, headers=forged)
            assert_problem(answer, 401)
        refused = await attacker.post(
            "/auth/token", json=WRONG_PASSWORD, headers={"X-Forwarded-For": "203.0.113.99"}
        )
    body = assert_problem(refused, 429, "too many requests")
    assert body["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Remaining"] == "0"


async def test_a_trusted_proxy_names_the_client(
    stack_settings: Settings, clean_state: None, client_address: str
) -> None:
    """The other side of the defence above: behind a configured proxy, each client the proxy
    names has a limit of its own (and the proxy itself is not limited as one client)."""
    async with serve_app(
        stack_settings, auth_rate_limit_per_minute=2, trusted_proxies="127.0.0.0/8"
    ) as behind_proxy:
        async with client_from(client_address, str(behind_proxy.base_url)) as proxy:
            for n in range(4):
                forwarded = {"X-Forwarded-For": f"198.51.100.{n}"}
                answer = await proxy.post("/auth/token", json=WRONG_PASSWORD, headers=forwarded)
                assert_problem(answer, 401)


async def test_two_api_processes_share_one_limit(
    stack_settings: Settings, clean_state: None, client_address: str
) -> None:
    async with (
        serve_app(stack_settings, auth_rate_limit_per_minute=4) as first,
        serve_app(stack_settings, auth_rate_limit_per_minute=4) as second,
        client_from(client_address, str(first.base_url)) as to_first,
        client_from(client_address, str(second.base_url)) as to_second,
    ):
        for api in [to_first, to_second, to_first, to_second]:
            assert_problem(await api.post("/auth/token", json=WRONG_PASSWORD), 401)
        for api in [to_first, to_second]:
            refused = await api.post("/auth/token", json=WRONG_PASSWORD)
            assert assert_problem(refused, 429)["code"] == "rate_limited"
            assert refused.headers["Retry-After"]
        # The limit is on logging in and signing up, not on the client's other requests.
        assert_problem(await to_first.get("/auth/me"), 401)
        assert (await to_first.get("/healthz")).status_code == 200


# -- quotas ----------------------------------------------------------------------------------


async def test_items_in_flight_are_limited_per_user(
    stack_settings: Settings, clean_state: None, media_factory: MediaFactory
) -> None:
    async with serve_app(stack_settings, max_items_in_flight=2) as api:
        greedy = await register(api)
        first = await create_media(api, greedy)
        await create_media(api, greedy)

        refused = await api.post("/videos", json=media_body(), headers=greedy.headers)
        body = assert_problem(refused, 429, "REELAY_MAX_ITEMS_IN_FLIGHT")
        assert body["code"] == "quota_exceeded" and body["limit"] == "items_in_flight"
        assert int(refused.headers["Retry-After"]) > 0
        clip = media_factory.garbage()
        through_api = await api.post(
            "/videos/upload",
            files={"file": ("clip.mp4", clip.read_bytes(), "video/mp4")},
            headers=greedy.headers,
        )
        assert assert_problem(through_api, 429)["limit"] == "items_in_flight"

        # Another user is not held back by this one.
        await create_media(api, await register(api))
        # A finished item frees its slot.
        canceled = await api.post(f"/videos/{first['id']}/cancel", headers=greedy.headers)
        assert canceled.status_code == 202, canceled.text
        await create_media(api, greedy)


async def test_bytes_stored_are_limited_per_user(
    api: httpx.AsyncClient, stack_settings: Settings, media_factory: MediaFactory
) -> None:
    hoarder = await register(api)
    api.cookies.clear()
    source = media_factory.garbage()
    size = source.stat().st_size
    stored = await create_media(api, hoarder, source)
    assert (await post_form(stored["upload"], source)).is_success

    # The operator lowers the limit under what the user already holds.
    async with serve_app(stack_settings, max_bytes_per_user=size - 1) as limited:
        refused = await limited.post("/videos", json=media_body(size=1), headers=hoarder.headers)
        body = assert_problem(refused, 429, "REELAY_MAX_BYTES_PER_USER")
        assert body["code"] == "quota_exceeded" and body["limit"] == "bytes_stored"
        assert "Retry-After" not in refused.headers  # waiting does not help; deleting does

        # Another user is not held back by this one.
        assert (await create_media(limited, await register(limited), size=1))["id"]
        complete = await limited.post(
            f"/videos/{stored['id']}/complete", json={}, headers=hoarder.headers
        )
        assert assert_problem(complete, 429)["limit"] == "bytes_stored"

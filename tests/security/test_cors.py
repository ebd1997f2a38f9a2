"""CORS: only the origins of REELAY_CORS_ORIGINS may read answers from a browser, never with
credentials (they use viewer tokens or keys); none by default."""

from __future__ import annotations

import httpx
from reelay_core.settings import Settings

from tests.support.api_server import serve_app
from tests.support.client import Account, assert_problem, register
from tests.support.factories import create_media

APP = "https://app.example"
EVIL = "https://evil.example"


def preflight(origin: str, method: str = "GET", headers: str = "last-event-id") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


async def token_for(api: httpx.AsyncClient, account: Account, media_id: str) -> str:
    answer = await api.post(f"/videos/{media_id}/tokens", json={}, headers=account.headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


async def test_no_origin_may_read_by_default(api: httpx.AsyncClient) -> None:
    account = await register(api)
    api.cookies.clear()
    media = await create_media(api, account)
    path = f"/videos/{media['id']}/events"
    answer = await api.options(path, headers=preflight(APP))
    assert "access-control-allow-origin" not in answer.headers, answer.headers
    token = await token_for(api, account, media["id"])
    got = await api.get(f"/videos/{media['id']}", params={"token": token}, headers={"Origin": APP})
    assert got.status_code == 200 and "access-control-allow-origin" not in got.headers


async def test_a_listed_origin_reads_with_a_token_and_no_credentials(
    stack_settings: Settings,
) -> None:
    async with serve_app(stack_settings, cors_origins=f"{APP}/, https://other.example") as api:
        account = await register(api)
        api.cookies.clear()
        media = await create_media(api, account)
        token = await token_for(api, account, media["id"])
        base = f"/videos/{media['id']}"

        allowed = await api.options(f"{base}/events", headers=preflight(APP))
        refused = await api.options(f"{base}/events", headers=preflight(EVIL))
        keyed = await api.options(
            "/videos", headers=preflight(APP, "POST", "authorization,content-type")
        )
        read = await api.get(base, params={"token": token}, headers={"Origin": APP})
        denied = await api.get(base, params={"token": "nonsense"}, headers={"Origin": APP})
        foreign = await api.get(base, params={"token": token}, headers={"Origin": EVIL})
        # The stream itself, the one answer an EventSource on another origin reads.
        async with api.stream(
            "GET", f"{base}/events", params={"token": token}, headers={"Origin": APP}
        ) as stream:
            streamed = stream.status_code, stream.headers

    assert allowed.status_code in (200, 204), allowed.text
    assert allowed.headers["access-control-allow-origin"] == APP
    assert "last-event-id" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in allowed.headers
    assert "access-control-allow-origin" not in refused.headers, refused.headers
    assert keyed.headers["access-control-allow-origin"] == APP
    assert "POST" in keyed.headers["access-control-allow-methods"]
    assert "authorization" in keyed.headers["access-control-allow-headers"].lower()

    assert read.status_code == 200 and read.headers["access-control-allow-origin"] == APP
    assert "access-control-allow-credentials" not in read.headers
    # The page can read why it was refused.
    assert_problem(denied, 401)
    assert denied.headers["access-control-allow-origin"] == APP
    assert "access-control-allow-origin" not in foreign.headers
    assert streamed[0] == 200 and streamed[1]["access-control-allow-origin"] == APP, streamed


async def test_a_listed_origin_passes_the_origin_check(stack_settings: Settings) -> None:
    """The Origin rule for cookie-free and cookie requests accepts the CORS origins too (as it
    does REELAY_ALLOWED_ORIGINS); any other foreign origin is still refused."""
    async with serve_app(stack_settings, cors_origins=APP) as api:
        account = await register(api)
        login = {"email": account.email, "password": account.password}
        listed = await api.post("/auth/token", json=login, headers={"Origin": APP})
        evil = await api.post("/auth/token", json=login, headers={"Origin": EVIL})
    assert listed.status_code == 200, listed.text
    assert assert_problem(evil, 403)["code"] == "bad_origin"

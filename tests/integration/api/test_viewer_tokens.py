"""Viewer tokens: `?token=` grants one item's status, events, playlists and downloads, nothing
else, and only until it expires."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.client import Account, assert_problem
from tests.support.factories import create_media, upload_and_complete
from tests.support.sse import read_events
from tests.support.waits import DEADLINE, until, wait_for_status


async def viewer_token(
    api: httpx.AsyncClient, account: Account, media_id: str, **body: Any
) -> dict[str, Any]:
    answer = await api.post(f"/videos/{media_id}/tokens", json=body, headers=account.headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def uris(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


async def test_a_token_plays_its_video_from_the_master_playlist_on(
    api: httpx.AsyncClient, alice: Account, clip: Path, clip_bytes: bytes
) -> None:
    queued = await upload_and_complete(api, alice, clip)
    media = await wait_for_status(api, alice, queued["id"], {"completed"})
    token = (await viewer_token(api, alice, media["id"]))["token"]
    base = f"/videos/{media['id']}"
    as_viewer = {"token": token}

    status = await api.get(base, params=as_viewer)
    assert status.status_code == 200 and status.json()["status"] == "completed", status.text

    events = await read_events(api, f"{base}/events", {}, params=as_viewer)
    assert [e.event for e in events][-1] == "completed"

    master = await api.get(f"{base}/hls/master.m3u8", params=as_viewer)
    assert master.status_code == 200, master.text
    variants = uris(master.text)
    assert variants and all(parse_qs(urlsplit(v).query)["token"] == [token] for v in variants)
    async with httpx.AsyncClient(timeout=30) as player:
        for uri in variants:
            # As a player resolves it: relative to the master's URL, with the token it carries.
            variant = await api.get(f"{base}/hls/{uri}")
            assert variant.status_code == 200, variant.text
            segments = uris(variant.text)
            assert segments and (await player.get(segments[0])).status_code == 200

        download = await api.get(f"{base}/download", params=as_viewer)
        assert download.status_code == 307, download.text
        assert (await player.get(download.headers["location"])).content == clip_bytes

    # Fetched with the owner's credentials, the master carries no token.
    own = await api.get(f"{base}/hls/master.m3u8", headers=alice.headers)
    assert "token=" not in own.text


async def test_a_token_grants_nothing_else(
    api: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    mine = await create_media(api, alice)
    other = await create_media(api, alice)
    bobs = await create_media(api, bob)
    token = {"token": (await viewer_token(api, alice, mine["id"]))["token"]}

    assert (await api.get(f"/videos/{mine['id']}", params=token)).status_code == 200
    # Another item of the same user, another user's item: as if it did not exist.
    for media_id in (other["id"], bobs["id"]):
        for path in ("", "/events", "/download", "/hls/master.m3u8"):
            assert_problem(await api.get(f"/videos/{media_id}{path}", params=token), 404)
    # The same id under /images is another item too.
    assert_problem(await api.get(f"/images/{mine['id']}", params=token), 404)

    # Anything that is not reading its one item: 401, and nothing changed.
    refused = [
        await api.get("/videos", params=token),
        await api.get("/events", params=token),
        await api.get("/auth/me", params=token),
        await api.get("/api-keys", params=token),
        await api.post(f"/videos/{mine['id']}/cancel", params=token),
        await api.post(f"/videos/{mine['id']}/tokens", json={}, params=token),
        await api.delete(f"/videos/{mine['id']}", params=token),
    ]
    for answer in refused:
        assert_problem(answer, 401)
    after = await api.get(f"/videos/{mine['id']}", headers=alice.headers)
    assert after.json()["status"] == "awaiting_upload"


async def test_a_token_is_not_a_session(api: httpx.AsyncClient, alice: Account) -> None:
    media = await create_media(api, alice)
    token = (await viewer_token(api, alice, media["id"]))["token"]
    as_bearer = {"Authorization": f"Bearer {token}"}
    assert_problem(await api.get(f"/videos/{media['id']}", headers=as_bearer), 401)
    assert_problem(await api.get("/auth/me", headers=as_bearer), 401)
    # Nor is a session token a viewer token.
    assert_problem(await api.get(f"/videos/{media['id']}", params={"token": alice.token}), 401)


async def test_an_expired_or_forged_token_is_401(api: httpx.AsyncClient, alice: Account) -> None:
    media = await create_media(api, alice)
    path = f"/videos/{media['id']}"
    made = await viewer_token(api, alice, media["id"], ttl_seconds=1)
    token = made["token"]
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    assert_problem(await api.get(path, params={"token": forged}), 401, "viewer token")

    async def expired() -> bool:
        answer = await api.get(path, params={"token": token})
        return answer.status_code == 401

    await until(expired, what="the 1 s viewer token expires", within=30)
    body = assert_problem(await api.get(path, params={"token": token}), 401, "expired")
    assert body["code"] == "bad_viewer_token"


async def test_token_lifetime_is_bounded(api: httpx.AsyncClient, alice: Account) -> None:
    media = await create_media(api, alice)
    default = await viewer_token(api, alice, media["id"])
    assert default["expires_at"] and default["token"]
    day = await viewer_token(api, alice, media["id"], ttl_seconds=86400)
    assert day["expires_at"] > default["expires_at"]
    for ttl in (0, 86401, "soon"):
        answer = await api.post(
            f"/videos/{media['id']}/tokens", json={"ttl_seconds": ttl}, headers=alice.headers
        )
        assert_problem(answer, 422, "ttl_seconds")


async def test_only_the_owner_makes_tokens(
    api: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    media = await create_media(api, alice)
    answer = await api.post(f"/videos/{media['id']}/tokens", json={}, headers=bob.headers)
    assert_problem(answer, 404)
    assert_problem(await api.post(f"/videos/{media['id']}/tokens", json={}), 401)


async def test_a_stream_opened_with_a_token_ends_when_it_expires(
    api: httpx.AsyncClient, alice: Account
) -> None:
    media = await create_media(api, alice)
    token = (await viewer_token(api, alice, media["id"], ttl_seconds=3))["token"]
    path = f"/videos/{media['id']}/events"
    # The item never finishes: only the token's expiry can end the stream.
    events = await read_events(api, path, {}, params={"token": token}, timeout=DEADLINE)
    assert [e.event for e in events] == ["status"]
    assert_problem(await api.get(path, params={"token": token}), 401)

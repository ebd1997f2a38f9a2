"""Another user's media is answered exactly like media that does not exist, on every endpoint."""

from __future__ import annotations

import uuid

import httpx

from tests.support.client import Account, assert_problem
from tests.support.factories import create_media


def every_endpoint(kind: str, media_id: str) -> list[tuple[str, str, dict]]:
    base = f"/{kind}/{media_id}"
    return [
        ("GET", base, {}),
        ("GET", f"{base}/events", {}),
        ("POST", f"{base}/complete", {"json": {}}),
        ("POST", f"{base}/parts", {}),
        ("POST", f"{base}/cancel", {}),
        ("POST", f"{base}/retry", {}),
        ("GET", f"{base}/download", {}),
        ("GET", f"{base}/download", {"params": {"rendition": "mp4"}}),
        ("GET", f"{base}/hls/master.m3u8", {}),
        ("GET", f"{base}/hls/360p.m3u8", {}),
        ("DELETE", base, {}),
    ]


async def test_another_users_media_is_404_everywhere(
    api: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    video = await create_media(api, alice)
    image = await create_media(api, alice, kind="images", filename="a.png")
    big = await create_media(api, alice, size=100 * 1024 * 1024)

    for kind, media in [("videos", video), ("images", image), ("videos", big)]:
        for method, path, options in every_endpoint(kind, media["id"]):
            theirs = await api.request(method, path, headers=bob.headers, **options)
            missing = await api.request(
                method, path.replace(media["id"], str(uuid.uuid4())), headers=bob.headers, **options
            )
            body = assert_problem(theirs, 404)
            assert body == missing.json(), (
                f"{method} {path} tells another user's item from a missing one"
            )

    # Nothing bob did changed anything, and he never sees alice's items.
    for kind, media in [("videos", video), ("images", image), ("videos", big)]:
        mine = await api.get(f"/{kind}/{media['id']}", headers=alice.headers)
        assert mine.status_code == 200 and mine.json()["status"] == "awaiting_upload"
    assert (await api.post(f"/videos/{big['id']}/parts", headers=alice.headers)).status_code == 200
    for kind in ("videos", "images"):
        assert (await api.get(f"/{kind}", headers=bob.headers)).json()["items"] == []
        assert len((await api.get(f"/{kind}", headers=alice.headers)).json()["items"]) >= 1


async def test_a_video_is_not_reachable_as_an_image(api: httpx.AsyncClient, alice: Account) -> None:
    video = await create_media(api, alice)
    for method, path, options in every_endpoint("images", video["id"]):
        assert_problem(await api.request(method, path, headers=alice.headers, **options), 404)

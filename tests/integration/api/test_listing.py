"""GET /videos: only the caller's media, newest first, cursor pages, status filter."""

from __future__ import annotations

import httpx

from tests.support.client import Account, assert_problem
from tests.support.factories import create_media


async def create_videos(api: httpx.AsyncClient, account: Account, count: int) -> list[str]:
    return [(await create_media(api, account, filename=f"clip{n}.mp4"))["id"] for n in range(count)]


async def test_pages_follow_the_cursor_newest_first(api: httpx.AsyncClient, alice: Account) -> None:
    ids = await create_videos(api, alice, 5)
    await create_media(api, alice, kind="images", filename="photo.png")

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await api.get("/videos", params=params, headers=alice.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(ids)), "newest first, every item once, images not among them"

    everything = (await api.get("/videos", params={"limit": 100}, headers=alice.headers)).json()
    assert [i["id"] for i in everything["items"]] == seen and everything["next_cursor"] is None
    assert [
        i["kind"] for i in (await api.get("/images", headers=alice.headers)).json()["items"]
    ] == ["image"]


async def test_status_filter(api: httpx.AsyncClient, alice: Account) -> None:
    ids = await create_videos(api, alice, 4)
    for media_id in ids[:2]:
        assert (
            await api.post(f"/videos/{media_id}/cancel", headers=alice.headers)
        ).status_code == 202

    canceled = (
        await api.get("/videos", params={"status": "canceled"}, headers=alice.headers)
    ).json()
    assert [i["id"] for i in canceled["items"]] == [ids[1], ids[0]]
    assert all(i["status"] == "canceled" and i["queue_position"] is None for i in canceled["items"])
    waiting = (
        await api.get(
            "/videos", params={"status": "awaiting_upload", "limit": 1}, headers=alice.headers
        )
    ).json()
    assert [i["id"] for i in waiting["items"]] == [ids[3]] and waiting["next_cursor"]
    rest = await api.get(
        "/videos",
        params={"status": "awaiting_upload", "cursor": waiting["next_cursor"]},
        headers=alice.headers,
    )
    assert [i["id"] for i in rest.json()["items"]] == [ids[2]]
    assert (
        await api.get("/videos", params={"status": "completed"}, headers=alice.headers)
    ).json() == {
        "items": [],
        "next_cursor": None,
    }


async def test_bad_list_parameters_are_422(api: httpx.AsyncClient, alice: Account) -> None:
    for params, words in [
        ({"limit": 0}, ("limit",)),
        ({"limit": 101}, ("limit",)),
        ({"status": "done"}, ("status",)),
        ({"cursor": "!!!"}, ("cursor",)),
    ]:
        assert_problem(await api.get("/videos", params=params, headers=alice.headers), 422, *words)

"""Downloads and HLS playback of finished media, through short-lived presigned URLs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.client import Account, assert_problem
from tests.support.factories import create_media, upload_and_complete
from tests.support.waits import wait_for_status

HLS = "application/vnd.apple.mpegurl"


def uris(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


async def test_a_completed_video_plays_over_hls_and_downloads(
    api: httpx.AsyncClient, alice: Account, clip: Path, clip_bytes: bytes
) -> None:
    queued = await upload_and_complete(api, alice, clip)
    base = f"/videos/{queued['id']}"
    media = await wait_for_status(api, alice, queued["id"], {"completed"})
    variants = [o["name"] for o in media["outputs"] if o["kind"] == "hls_variant"]
    assert variants and all("key" not in o for o in media["outputs"]), media["outputs"]

    master = await api.get(f"{base}/hls/master.m3u8", headers=alice.headers)
    assert master.status_code == 200, master.text
    assert master.headers["content-type"].startswith(HLS)
    assert master.text.startswith("#EXTM3U")
    assert sorted(uris(master.text)) == sorted(f"{name}.m3u8" for name in variants)

    async with httpx.AsyncClient(timeout=30) as player:
        for uri in uris(master.text):
            variant = await api.get(
                f"{base}/hls/{uri}", headers=alice.headers
            )  # relative to master
            assert variant.status_code == 200 and variant.headers["content-type"].startswith(HLS)
            segments = uris(variant.text)
            assert segments and all(
                s.startswith("http") and "X-Amz-Signature" in s for s in segments
            )
            first = await player.get(segments[0])
            assert first.status_code == 200 and len(first.content) > 1000

        source = await api.get(f"{base}/download", headers=alice.headers)
        assert source.status_code == 307
        location = source.headers["location"]
        assert clip.name in parse_qs(urlsplit(location).query)["response-content-disposition"][0]
        fetched = await player.get(location)
        assert fetched.status_code == 200 and fetched.content == clip_bytes
        assert clip.name in fetched.headers["content-disposition"]

        mp4 = await api.get(f"{base}/download", params={"rendition": "mp4"}, headers=alice.headers)
        assert mp4.status_code == 307
        assert (await player.get(mp4.headers["location"])).headers["content-type"] == "video/mp4"
        named = await api.get(
            f"{base}/download", params={"rendition": variants[0]}, headers=alice.headers
        )
        assert named.status_code == 307

    assert_problem(
        await api.get(f"{base}/download", params={"rendition": "4k"}, headers=alice.headers),
        404,
        "4k",
    )
    assert_problem(await api.get(f"{base}/hls/4k.m3u8", headers=alice.headers), 404, "4k")
    assert_problem(await api.get(f"{base}/hls/master.txt", headers=alice.headers), 404, "m3u8")


async def test_nothing_plays_before_completion(api: httpx.AsyncClient, alice: Account) -> None:
    media = await create_media(api, alice)
    base = f"/videos/{media['id']}"
    assert_problem(
        await api.get(f"{base}/download", headers=alice.headers), 409, "not been uploaded"
    )
    for rendition in ("mp4", "360p"):
        answer = await api.get(
            f"{base}/download", params={"rendition": rendition}, headers=alice.headers
        )
        assert_problem(answer, 409, "awaiting_upload")
    assert_problem(
        await api.get(f"{base}/hls/master.m3u8", headers=alice.headers), 409, "awaiting_upload"
    )
    assert_problem(
        await api.get(f"{base}/hls/360p.m3u8", headers=alice.headers), 409, "awaiting_upload"
    )
    assert_problem(
        await api.get(f"{base}/download", params={"rendition": "poster"}, headers=alice.headers),
        409,
        "awaiting_upload",
    )
    assert (await api.get(base, headers=alice.headers)).json()["playable"] is False


async def test_an_image_gets_webp_renditions(
    api: httpx.AsyncClient, alice: Account, picture: Path
) -> None:
    queued = await upload_and_complete(api, alice, picture, kind="images", content_type="image/png")
    media = await wait_for_status(api, alice, queued["id"], {"completed"})
    assert media["kind"] == "image" and media["source"]["width"] == 320
    webp = next(o for o in media["outputs"] if o["kind"] == "webp")
    answer = await api.get(
        f"/images/{media['id']}/download", params={"rendition": webp["name"]}, headers=alice.headers
    )
    assert answer.status_code == 307
    async with httpx.AsyncClient(timeout=30) as browser:
        fetched = await browser.get(answer.headers["location"])
    assert fetched.status_code == 200 and fetched.content[8:12] == b"WEBP"
    assert_problem(
        await api.get(f"/images/{media['id']}/hls/master.m3u8", headers=alice.headers), 404
    )

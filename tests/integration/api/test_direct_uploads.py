"""Direct uploads to storage: presigned POST, resumable multipart, and POST .../complete."""

from __future__ import annotations

import base64
import json
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from reelay_core import jobs
from reelay_core.media.keys import item_prefix, source_key
from reelay_core.settings import Settings
from reelay_core.storage import Storage
from reelay_worker.jobs.tasks import abort_stale_uploads
from reelay_worker.resources import open_resources
from sqlalchemy import text

from tests.support.api_server import serve_app
from tests.support.client import Account, assert_problem
from tests.support.factories import MIB, create_media, media_body, post_form, put_parts
from tests.support.waits import until


def small_parts(settings: Settings) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """An API that goes multipart above 6 MiB in 5 MiB parts, so multipart tests stay small."""
    return serve_app(settings, multipart_threshold_bytes=6 * MIB, multipart_part_bytes=5 * MIB)


async def create_multipart(
    app: httpx.AsyncClient, account: Account, size: int
) -> tuple[dict, dict]:
    media = await create_media(app, account, size=size)
    return media, media["upload"]


def policy_of(upload: dict) -> dict:
    return json.loads(base64.b64decode(upload["fields"]["policy"]))


async def test_create_answers_a_presigned_post_pinned_to_key_type_and_size(
    api: httpx.AsyncClient, alice: Account, clip: Path, clip_bytes: bytes, stack_settings: Settings
) -> None:
    media = await create_media(api, alice, clip)
    assert media["status"] == "awaiting_upload" and media["attempts"] == 0
    assert (media["kind"], media["filename"], media["size"]) == (
        "video",
        clip.name,
        len(clip_bytes),
    )
    assert media["queue_position"] is None and media["outputs"] == [] and media["source"] is None

    upload = media["upload"]
    assert upload["method"] == "POST" and upload["url"].startswith(stack_settings.s3_endpoint_url)
    policy = policy_of(upload)
    conditions = policy["conditions"]
    assert {"key": upload["fields"]["key"]} in conditions
    assert upload["fields"]["key"].startswith(
        stack_settings.s3_key_prefix + item_prefix(media["id"])
    )
    assert {"Content-Type": "video/mp4"} in conditions
    assert ["content-length-range", 1, len(clip_bytes)] in conditions
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    ttl = timedelta(seconds=stack_settings.presign_ttl_seconds)
    assert abs(expires - (datetime.now(UTC) + ttl)) < timedelta(seconds=30)
    assert datetime.fromisoformat(upload["expires_at"]) - expires < timedelta(seconds=5)


async def test_unsupported_types_are_415_and_oversize_is_413(
    api: httpx.AsyncClient, alice: Account
) -> None:
    for kind, body, words in [
        ("videos", media_body(filename="notes.txt", content_type="text/plain"), (".txt", ".mp4")),
        (
            "videos",
            media_body(filename="clip.mp4", content_type="image/png"),
            ("image/png", "video/mp4"),
        ),
        (
            "videos",
            media_body(filename="clip", content_type="video/mp4"),
            ("without an extension",),
        ),
        ("images", media_body(filename="clip.mp4", content_type="video/mp4"), (".mp4", ".png")),
        ("images", media_body(filename="photo.bmp", content_type="image/bmp"), (".bmp",)),
    ]:
        assert_problem(await api.post(f"/{kind}", json=body, headers=alice.headers), 415, *words)
    for kind, body in [
        ("videos", media_body(filename="clip.MOV", content_type="video/quicktime")),
        ("videos", media_body(filename="clip.mkv", content_type="video/x-matroska")),
        ("images", media_body(filename="photo.jpeg", content_type="image/jpeg")),
        ("images", media_body(filename="anim.gif", content_type="image/gif")),
    ]:
        assert (await api.post(f"/{kind}", json=body, headers=alice.headers)).status_code == 201

    huge = media_body(size=5 * 1024**3 + 1)
    assert_problem(
        await api.post("/videos", json=huge, headers=alice.headers), 413, "limit", str(5 * 1024**3)
    )
    assert (await api.get("/videos", headers=alice.headers)).json()["items"][0][
        "filename"
    ] == "clip.mkv"


async def test_storage_refuses_more_bytes_than_declared(
    api: httpx.AsyncClient,
    alice: Account,
    clip: Path,
    clip_bytes: bytes,
    storage: Storage,
    tmp_path: Path,
) -> None:
    media = await create_media(api, alice, clip)
    bigger = tmp_path / clip.name
    bigger.write_bytes(clip_bytes + b"\0" * 1024)
    refused = await post_form(media["upload"], bigger)
    assert refused.status_code == 400 and "EntityTooLarge" in refused.text
    assert await storage.list_keys(item_prefix(media["id"])) == []
    assert_problem(
        await api.post(f"/videos/{media['id']}/complete", json={}, headers=alice.headers),
        409,
        "no uploaded file",
    )


async def test_an_expired_presigned_post_is_refused(
    api: httpx.AsyncClient, alice: Account, clip: Path, storage: Storage, stack_settings: Settings
) -> None:
    async with serve_app(stack_settings, presign_ttl_seconds=1) as short_lived:
        media = await create_media(short_lived, alice, clip)
    expiration = policy_of(media["upload"])["expiration"]  # what storage checks
    expires = datetime.fromisoformat(expiration.replace("Z", "+00:00"))
    await until(lambda: datetime.now(UTC) > expires, what="the upload form to expire")
    refused = await post_form(media["upload"], clip)
    assert refused.status_code == 403, refused.text
    assert await storage.list_keys(item_prefix(media["id"])) == []


async def test_complete_checks_the_object_then_queues_once(
    api: httpx.AsyncClient, alice: Account, garbage: Path, garbage_bytes: bytes, tmp_path: Path
) -> None:
    media = await create_media(api, alice, garbage)
    complete = f"/videos/{media['id']}/complete"

    assert_problem(
        await api.post(complete, json={}, headers=alice.headers), 409, "no uploaded file"
    )
    short = tmp_path / garbage.name
    short.write_bytes(garbage_bytes[:1000])
    assert (await post_form(media["upload"], short)).status_code == 204
    assert_problem(
        await api.post(complete, json={}, headers=alice.headers), 422, "1000 bytes", "declared"
    )
    still = (await api.get(f"/videos/{media['id']}", headers=alice.headers)).json()
    assert still["status"] == "awaiting_upload" and still["attempts"] == 0, "nothing was queued"

    assert (await post_form(media["upload"], garbage)).status_code == 204
    first = await api.post(complete, json={}, headers=alice.headers)
    assert first.status_code == 202, first.text
    queued = first.json()
    assert queued["status"] == "queued" and queued["attempts"] == 1
    assert queued["job_id"] == f"transcode:{media['id']}:1"
    assert isinstance(queued["queue_position"], int) and queued["queue_position"] >= 0

    again = await api.post(complete, headers=alice.headers)  # no body at all is fine too
    assert again.status_code == 202 and again.json()["job_id"] == queued["job_id"]
    assert again.json()["attempts"] == 1


async def test_complete_refuses_a_canceled_upload(
    api: httpx.AsyncClient, alice: Account, garbage: Path
) -> None:
    media = await create_media(api, alice, garbage)
    assert (await post_form(media["upload"], garbage)).status_code == 204
    assert (
        await api.post(f"/videos/{media['id']}/cancel", headers=alice.headers)
    ).status_code == 202
    answer = await api.post(f"/videos/{media['id']}/complete", json={}, headers=alice.headers)
    assert_problem(answer, 409, "canceled")


async def test_resumable_multipart_upload(
    api: httpx.AsyncClient, alice: Account, stack_settings: Settings, storage: Storage
) -> None:
    data = bytes(range(256)) * (11 * MIB // 256)  # 11 MiB: parts of 5, 5 and 1 MiB
    async with small_parts(stack_settings) as app:
        media, upload = await create_multipart(app, alice, len(data))
        assert upload["method"] == "multipart" and upload["part_size"] == 5 * MIB
        assert [(p["part_number"], p["size"]) for p in upload["parts"]] == [
            (1, 5 * MIB),
            (2, 5 * MIB),
            (3, len(data) - 10 * MIB),
        ]

        first = await put_parts(upload, data, [1])  # ...and then the connection drops
        resumed = await app.post(f"/videos/{media['id']}/parts", headers=alice.headers)
        assert resumed.status_code == 200, resumed.text
        fresh = resumed.json()
        assert fresh["upload_id"] == upload["upload_id"]
        assert fresh["stored_parts"] == [
            {**first[0], "etag": first[0]["etag"].strip('"'), "size": 5 * MIB}
        ]
        assert [p["part_number"] for p in fresh["parts"]] == [2, 3]
        rest = await put_parts(fresh, data, [2, 3])

        complete = f"/videos/{media['id']}/complete"
        assert_problem(await app.post(complete, json={}, headers=alice.headers), 422, "parts")
        partial = await app.post(complete, json={"parts": first + rest[:1]}, headers=alice.headers)
        assert_problem(partial, 422, f"{10 * MIB} bytes", "declared")
        wrong = [*first, *rest[:1], {"part_number": 3, "etag": '"0123456789abcdef"'}]
        assert_problem(
            await app.post(complete, json={"parts": wrong}, headers=alice.headers), 422, "part 3"
        )

        done = await app.post(complete, json={"parts": first + rest}, headers=alice.headers)
        assert done.status_code == 202, done.text
        assert done.json()["status"] == "queued"
        assert_problem(
            await app.post(f"/videos/{media['id']}/parts", headers=alice.headers), 409, "multipart"
        )
    key = next(k for k in await storage.list_keys(item_prefix(media["id"])) if "/source" in k)
    assert await storage.get_bytes(key) == data


async def test_a_part_url_stores_exactly_its_size(
    alice: Account, stack_settings: Settings, storage: Storage
) -> None:
    async with small_parts(stack_settings) as app:
        media, upload = await create_multipart(app, alice, 11 * MIB)
    first, last = upload["parts"][0]["url"], upload["parts"][2]["url"]
    async with httpx.AsyncClient(timeout=60) as client:
        # A client parking more than it declared, or sending a short part, is refused.
        for url, size in [(first, 64 * MIB), (first, 5 * MIB - 1), (last, 1 * MIB + 1)]:
            refused = await client.put(url, content=bytes(size))
            assert refused.status_code == 403, (size, refused.text)
        assert (await client.put(last, content=bytes(1 * MIB))).status_code == 200
    stored = await storage.list_parts(source_key(media["id"], ".mp4"), upload["upload_id"])
    assert [(p.part_number, p.size) for p in stored] == [(3, 1 * MIB)]


async def test_parts_of_a_presigned_post_upload_is_409(
    api: httpx.AsyncClient, alice: Account
) -> None:
    media = await create_media(api, alice)
    assert_problem(
        await api.post(f"/videos/{media['id']}/parts", headers=alice.headers), 409, "multipart"
    )


async def test_uploads_left_unfinished_are_aborted_by_the_periodic_task(
    api: httpx.AsyncClient, alice: Account, stack_settings: Settings, storage: Storage
) -> None:
    # Multipart: parts are only visible as an open upload.
    stale = await create_media(api, alice, size=100 * MIB)
    fresh = await create_media(api, alice, size=100 * MIB)
    await put_parts(stale["upload"], bytes(16 * MIB), [1])

    redis = await jobs.connect(str(stack_settings.redis_url))
    try:
        async with open_resources(stack_settings, redis) as resources:
            async with resources.engine.begin() as conn:
                await conn.execute(
                    text(
                        "UPDATE media SET created_at = now() - interval '25 hours' WHERE id = :id"
                    ),
                    {"id": stale["id"]},
                )
            assert await abort_stale_uploads({"res": resources}) == 1
    finally:
        await redis.aclose()

    expired = (await api.get(f"/videos/{stale['id']}", headers=alice.headers)).json()
    assert expired["status"] == "canceled" and expired["error"]["code"] == "upload_expired"
    assert await storage.open_multipart_uploads(item_prefix(stale["id"])) == []
    assert (await api.get(f"/videos/{fresh['id']}", headers=alice.headers)).json()[
        "status"
    ] == "awaiting_upload"
    assert (
        await api.post(f"/videos/{fresh['id']}/parts", headers=alice.headers)
    ).status_code == 200


async def test_a_multipart_upload_storage_no_longer_holds_is_a_clear_409(
    alice: Account, stack_settings: Settings, storage: Storage
) -> None:
    async with small_parts(stack_settings) as app:
        media, upload = await create_multipart(app, alice, 11 * MIB)
        # Storage forgets it (an expiry rule, an operator): our row still names it.
        await storage.abort_multipart(source_key(media["id"], ".mp4"), upload["upload_id"])

        parts = await app.post(f"/videos/{media['id']}/parts", headers=alice.headers)
        assert_problem(parts, 409, "no longer holds", "POST again")
        complete = await app.post(
            f"/videos/{media['id']}/complete",
            json={"parts": [{"part_number": 1, "etag": "x"}]},
            headers=alice.headers,
        )
        assert_problem(complete, 409, "no longer holds")
        assert (await app.get(f"/videos/{media['id']}", headers=alice.headers)).json()[
            "status"
        ] == "awaiting_upload"

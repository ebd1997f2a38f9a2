"""Cancel, retry and delete, against the real worker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from reelay_core.media.keys import item_prefix
from reelay_core.storage import Storage

from tests.support.api_uploads import assert_problem, media_body, wait_for_status
from tests.support.client import Account, upload_and_complete


async def test_cancel_then_retry_a_video_until_it_completes(
    api: httpx.AsyncClient, alice: Account, clip: Path
) -> None:
    queued = await upload_and_complete(api, alice, clip)
    media_id = queued["id"]
    assert_problem(
        await api.post(f"/videos/{media_id}/retry", headers=alice.headers),
        409,
        "only failed or canceled",
    )

    canceled = await api.post(f"/videos/{media_id}/cancel", headers=alice.headers)
    assert canceled.status_code == 202, canceled.text
    assert canceled.json()["status"] == "canceled"
    await asyncio.sleep(1.5)  # whatever the worker was doing, it must not bring the item back
    assert (await api.get(f"/videos/{media_id}", headers=alice.headers)).json()[
        "status"
    ] == "canceled"
    assert_problem(
        await api.post(f"/videos/{media_id}/cancel", headers=alice.headers), 409, "already canceled"
    )

    retried = await api.post(f"/videos/{media_id}/retry", headers=alice.headers)
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "queued" and retried.json()["attempts"] == 2
    assert retried.json()["job_id"] == f"transcode:{media_id}:2"

    done = await wait_for_status(api, alice, media_id, {"completed"})
    assert done["attempts"] == 2 and done["progress"] == 100 and done["error"] is None
    assert_problem(
        await api.post(f"/videos/{media_id}/cancel", headers=alice.headers),
        409,
        "already completed",
    )
    assert_problem(
        await api.post(f"/videos/{media_id}/retry", headers=alice.headers), 409, "completed"
    )


async def test_a_failed_item_can_be_retried(
    api: httpx.AsyncClient, alice: Account, garbage: Path
) -> None:
    queued = await upload_and_complete(api, alice, garbage)
    failed = await wait_for_status(api, alice, queued["id"], {"failed"})
    assert failed["error"]["code"] and failed["error"]["message"]
    retried = await api.post(f"/videos/{queued['id']}/retry", headers=alice.headers)
    assert retried.status_code == 202 and retried.json()["attempts"] == failed["attempts"] + 1
    assert retried.json()["error"] is None


async def test_an_upload_canceled_before_it_arrived_cannot_be_retried(
    api: httpx.AsyncClient, alice: Account
) -> None:
    media = (await api.post("/videos", json=media_body(), headers=alice.headers)).json()
    assert (
        await api.post(f"/videos/{media['id']}/cancel", headers=alice.headers)
    ).status_code == 202
    assert_problem(
        await api.post(f"/videos/{media['id']}/retry", headers=alice.headers), 409, "upload"
    )


async def test_delete_removes_every_object_and_the_item(
    api: httpx.AsyncClient, alice: Account, clip: Path, storage: Storage
) -> None:
    queued = await upload_and_complete(api, alice, clip)
    media_id = queued["id"]
    await wait_for_status(api, alice, media_id, {"completed"})
    stored = await storage.list_keys(item_prefix(media_id))
    assert any("/source" in k for k in stored) and any(k.endswith(".m3u8") for k in stored)

    deleted = await api.delete(f"/videos/{media_id}", headers=alice.headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert await storage.list_keys(item_prefix(media_id)) == []
    assert_problem(await api.get(f"/videos/{media_id}", headers=alice.headers), 404)
    assert_problem(await api.delete(f"/videos/{media_id}", headers=alice.headers), 404)
    assert (await api.get("/videos", headers=alice.headers)).json()["items"] == []


async def test_delete_stops_a_running_job_and_leaves_nothing(
    api: httpx.AsyncClient, alice: Account, clip: Path, storage: Storage
) -> None:
    queued = await upload_and_complete(api, alice, clip)
    await wait_for_status(api, alice, queued["id"], {"processing", "completed"})
    assert (await api.delete(f"/videos/{queued['id']}", headers=alice.headers)).status_code == 204
    await asyncio.sleep(2)  # a worker still writing outputs would show up here
    assert await storage.list_keys(item_prefix(queued["id"])) == []


async def test_delete_of_an_unfinished_multipart_upload_aborts_it(
    api: httpx.AsyncClient, alice: Account, storage: Storage
) -> None:
    big = media_body(size=200 * 1024 * 1024)  # above the 64 MiB threshold: multipart
    media = (await api.post("/videos", json=big, headers=alice.headers)).json()
    upload = media["upload"]
    assert upload["method"] == "multipart"
    assert (await api.delete(f"/videos/{media['id']}", headers=alice.headers)).status_code == 204
    assert await storage.open_multipart_uploads(item_prefix(media["id"])) == []

"""Cancel, retry and delete, against the real worker."""

from __future__ import annotations

from pathlib import Path

import httpx
from arq import ArqRedis
from reelay_core.jobs import transcode_job_id
from reelay_core.media.keys import item_prefix
from reelay_core.storage import Storage

from tests.support.client import Account, assert_problem
from tests.support.factories import create_media, upload_and_complete
from tests.support.waits import (
    TERMINAL,
    job_finished,
    wait_for_media,
    wait_for_status,
)


def transcoding(media: dict) -> bool:
    """FFmpeg is at work: the job has a long way still to go."""
    return media["status"] == "processing" and media["stage"] == "transcode"


async def test_cancel_then_retry_a_video_until_it_completes(
    api: httpx.AsyncClient, alice: Account, clip: Path, arq_redis: ArqRedis
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
    # Whatever the worker was doing with attempt 1, once it is done the item is still canceled.
    await job_finished(arq_redis, transcode_job_id(media_id, 1))
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

    # The retry really runs, and the same bytes fail the same way.
    again = await wait_for_media(
        api,
        alice,
        queued["id"],
        lambda m: m["attempts"] == failed["attempts"] + 1 and m["status"] in TERMINAL,
        what="the retried attempt's end",
    )
    assert again["status"] == "failed", again
    assert again["error"]["code"] == failed["error"]["code"], again["error"]


async def test_an_upload_canceled_before_it_arrived_cannot_be_retried(
    api: httpx.AsyncClient, alice: Account
) -> None:
    media = await create_media(api, alice)
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
    api: httpx.AsyncClient, alice: Account, long_clip: Path, storage: Storage, arq_redis: ArqRedis
) -> None:
    queued = await upload_and_complete(api, alice, long_clip)
    media_id = queued["id"]
    await wait_for_media(api, alice, media_id, transcoding, what="mid-transcode")
    assert (await api.delete(f"/videos/{media_id}", headers=alice.headers)).status_code == 204

    ended = await job_finished(arq_redis, transcode_job_id(media_id, 1))
    # Aborted, or stopped on its next fenced write: either way it never completed the item.
    assert ended.result != "completed", ended
    assert await storage.list_keys(item_prefix(media_id)) == []


async def test_delete_of_an_unfinished_multipart_upload_aborts_it(
    api: httpx.AsyncClient, alice: Account, storage: Storage
) -> None:
    # Above the 64 MiB threshold: multipart.
    media = await create_media(api, alice, size=200 * 1024 * 1024)
    upload = media["upload"]
    assert upload["method"] == "multipart"
    assert (await api.delete(f"/videos/{media['id']}", headers=alice.headers)).status_code == 204
    assert await storage.open_multipart_uploads(item_prefix(media["id"])) == []

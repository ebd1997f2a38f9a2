"""DELETE leaves nothing behind, not even what a still-valid upload URL stores afterwards."""

from __future__ import annotations

from pathlib import Path

import httpx
from arq.jobs import Job, JobStatus
from reelay_core.media.keys import item_prefix
from reelay_worker.jobs.tasks import purge
from reelay_worker.resources import WorkerResources

from tests.support.client import register
from tests.support.factories import create_media, post_form


async def test_an_upload_after_delete_is_purged_later(
    api: httpx.AsyncClient, worker_resources: WorkerResources, clip_small: Path
) -> None:
    account = await register(api)
    media = await create_media(api, account, clip_small)
    prefix = item_prefix(media["id"])
    assert (await api.delete(f"/videos/{media['id']}", headers=account.headers)).status_code == 204

    # The presigned POST handed out before the delete is valid for 15 more minutes.
    assert (await post_form(media["upload"], clip_small)).status_code in (200, 204)
    storage = worker_resources.storage
    assert await storage.list_keys(prefix), "storage accepted the late upload"

    # The API scheduled a purge for after the URL's expiry; run it now.
    job = Job(f"purge:{media['id']}", worker_resources.redis)
    assert await job.status() == JobStatus.deferred
    assert await purge({"res": worker_resources}, media["id"]) == 1
    assert await storage.list_keys(prefix) == []


async def test_purge_never_touches_a_live_item(
    api: httpx.AsyncClient, worker_resources: WorkerResources, clip_small: Path
) -> None:
    account = await register(api)
    media = await create_media(api, account, clip_small)
    assert (await post_form(media["upload"], clip_small)).status_code in (200, 204)

    assert await purge({"res": worker_resources}, media["id"]) == 0
    assert await worker_resources.storage.list_keys(item_prefix(media["id"]))

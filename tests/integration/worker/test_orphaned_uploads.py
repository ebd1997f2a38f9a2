"""Multipart uploads that no item owns are aborted once stale, and not a moment earlier."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

from reelay_core.media.keys import source_key
from reelay_worker.jobs.tasks import abort_stale_uploads
from reelay_worker.resources import WorkerResources

from tests.support.waits import until

MIB = 1024 * 1024


async def test_an_upload_no_item_owns_is_aborted_once_stale(
    worker_resources: WorkerResources, clean_state: None
) -> None:
    storage = worker_resources.storage
    # As an API that died between creating the upload and saving its item leaves it.
    key = source_key(uuid.uuid4(), ".mp4")
    upload_id = await storage.create_multipart(key, content_type="video/mp4")
    await storage.upload_part(key, upload_id, 1, bytes(5 * MIB))
    assert [u.upload_id for u in await storage.open_multipart_uploads(key)] == [upload_id]

    assert await abort_stale_uploads({"res": worker_resources}) == 0
    assert [u.upload_id for u in await storage.open_multipart_uploads(key)] == [upload_id], (
        "younger than REELAY_STALE_UPLOAD_HOURS: it might still be completed"
    )

    # Storage keeps the start time in whole seconds: wait until it is in the past.
    [upload] = await storage.open_multipart_uploads(key)
    await until(lambda: datetime.now(UTC) > upload.initiated, what="the upload to be in the past")
    settings = worker_resources.settings.model_copy(update={"stale_upload_hours": 0})
    stale_now = dataclasses.replace(worker_resources, settings=settings)
    assert await abort_stale_uploads({"res": stale_now}) == 0, "no item was involved"
    assert await storage.open_multipart_uploads(key) == []

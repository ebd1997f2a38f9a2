"""REELAY_S3_KEY_PREFIX: every object of an item, source and outputs, lies under the prefix."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import httpx
from reelay_core.media.keys import item_prefix
from reelay_core.settings import Settings
from reelay_core.storage import Storage

from tests.support.client import Account
from tests.support.factories import upload_and_complete
from tests.support.waits import wait_for_status


async def test_sources_and_outputs_stay_under_the_key_prefix(
    api: httpx.AsyncClient, alice: Account, picture: Path, stack_settings: Settings
) -> None:
    prefix = stack_settings.s3_key_prefix
    assert prefix, "the suite runs with a key prefix of its own"
    media = await upload_and_complete(api, alice, picture, kind="images", content_type="image/png")
    done = await wait_for_status(api, alice, media["id"], {"completed"})

    # The whole bucket, as a deployment without a prefix would see it.
    async with Storage(stack_settings.model_copy(update={"s3_key_prefix": ""})) as bucket:
        keys = await bucket.list_keys("")
    mine = [k for k in keys if f"/{media['id']}/" in k]
    assert any(k.endswith("/source.png") for k in mine) and len(mine) > 1, mine
    assert all(k.startswith(prefix + item_prefix(media["id"])) for k in mine), mine

    download = await api.get(
        f"/images/{media['id']}/download",
        params={"rendition": done["outputs"][0]["name"]},
        headers=alice.headers,
    )
    assert download.status_code == 307
    signed_path = urlparse(download.headers["location"]).path
    assert signed_path.startswith(f"/{stack_settings.s3_bucket}/{prefix}{item_prefix(media['id'])}")

"""Fetching an item's source: exactly the object the API checked at `complete`, or nothing."""

from __future__ import annotations

from pathlib import Path

from reelay_core.db import models as m
from reelay_core.media.errors import MediaRejected
from reelay_core.storage import ObjectChanged, Storage


async def download_source(storage: Storage, media: m.Media, path: Path) -> None:
    """Download the source to `path`, refusing it (`source_changed`) when the stored object is no
    longer the one recorded at `complete`: a presigned URL still valid then can replace it."""
    try:
        await storage.download_file(media.source_key, path, if_match=media.source_etag)
    except ObjectChanged:
        raise source_changed() from None


def source_changed() -> MediaRejected:
    """The refusal of a source replaced after `complete`, however the worker noticed."""
    return MediaRejected(
        "source_changed",
        "The uploaded file was replaced after the upload was completed; upload it again as a "
        "new item.",
    )

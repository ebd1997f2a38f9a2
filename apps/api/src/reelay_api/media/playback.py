"""Downloads and HLS playlists: outputs reached through short-lived presigned URLs."""

from __future__ import annotations

import posixpath

from reelay_core.db import models as m
from reelay_core.db.models import MediaKind, MediaStatus
from reelay_core.media import keys
from reelay_core.media.command import MASTER_PLAYLIST
from reelay_core.media.outputs import Rendition, RenditionKind, renditions
from reelay_core.settings import Settings
from reelay_core.storage import Storage

from reelay_api.problems import Problem


def find_output(media: m.Media, rendition: str) -> Rendition | None:
    for output in renditions(media.outputs):
        if output.name == rendition or (rendition == "mp4" and output.kind == RenditionKind.MP4):
            return output
    return None


async def download_url(storage: Storage, settings: Settings, media: m.Media, rendition: str) -> str:
    ttl = settings.download_ttl_seconds
    if rendition == "source":
        if media.attempt == 0:  # never queued: awaiting its upload, or canceled before it came
            raise Problem(409, "The source has not been uploaded yet.", code="not_ready")
        return await storage.presign_get(
            media.source_key, expires=ttl, download_name=media.filename
        )
    if media.status != MediaStatus.COMPLETED:
        raise Problem(
            409,
            f"Renditions exist once processing completes; this item is {media.status}.",
            code="not_ready",
        )
    output = find_output(media, rendition)
    if output is None:
        names = ", ".join(["source", *(o.name for o in renditions(media.outputs))])
        raise Problem(
            404, f"No rendition {rendition!r}; this item has: {names}.", code="no_such_rendition"
        )
    return await storage.presign_get(output.key, expires=ttl, download_name=output.filename)


async def master_playlist(storage: Storage, media: m.Media) -> str:
    require_hls(media)
    text = (await storage.get_bytes(keys.hls_key(media.output_prefix, MASTER_PLAYLIST))).decode()
    # Variants are served by the API as /hls/{name}.m3u8, beside the master playlist.
    return (
        "\n".join(
            line.replace("/index.m3u8", ".m3u8") if line and not line.startswith("#") else line
            for line in text.splitlines()
        )
        + "\n"
    )


async def variant_playlist(storage: Storage, settings: Settings, media: m.Media, name: str) -> str:
    require_hls(media)
    variant = next(
        (
            o
            for o in renditions(media.outputs)
            if o.name == name and o.kind == RenditionKind.HLS_VARIANT
        ),
        None,
    )
    if variant is None:
        raise Problem(404, f"No HLS variant {name!r}.", code="no_such_rendition")
    text = (await storage.get_bytes(variant.key)).decode()
    # Segment URIs are relative to their playlist, as HLS resolves them.
    directory = posixpath.dirname(variant.key)
    lines = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            line = await storage.presign_get(
                f"{directory}/{line}", expires=settings.download_ttl_seconds * 12
            )
        lines.append(line)
    return "\n".join(lines) + "\n"


def require_hls(media: m.Media) -> None:
    if media.kind != MediaKind.VIDEO:
        raise Problem(404, "Images have no HLS playback.", code="not_found")
    if media.status != MediaStatus.COMPLETED:
        raise Problem(
            409,
            f"Playback is available once processing completes; this item is {media.status}.",
            code="not_ready",
        )

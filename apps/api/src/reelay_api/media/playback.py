"""Downloads and HLS playlists: outputs reached through short-lived presigned URLs."""

from __future__ import annotations

import posixpath

from botocore.exceptions import ClientError
from reelay_core.db import models as m
from reelay_core.db.models import MediaKind, MediaStatus
from reelay_core.media import keys
from reelay_core.media.command import MASTER_PLAYLIST, POSTER_FILE
from reelay_core.media.outputs import Rendition, RenditionKind, renditions
from reelay_core.media.playlists import segment_uris
from reelay_core.settings import Settings
from reelay_core.storage import Storage, error_code

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
        key = keys.output_key(playable_prefix(media), POSTER_FILE)
        # Published as soon as FFmpeg writes it, while the rest is processed.
        if rendition == "poster" and media.playable and await storage.head(key) is not None:
            stem = posixpath.splitext(media.filename)[0] or "video"
            return await storage.presign_get(key, expires=ttl, download_name=f"{stem}.jpg")
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


def playable_prefix(media: m.Media) -> str:
    """Where the outputs being played are: the playable attempt's own prefix, or the item's
    for a video completed before outputs were published by attempt (no `playable_at`)."""
    if media.playable_at is None:
        return media.output_prefix
    return keys.attempt_prefix(media.output_prefix, media.attempt)


def variant_uri(name: str) -> str:
    """How the master playlist names a variant: beside it, as the API serves it. (A viewer
    token is added to these by `reelay_api.viewer.tokens.carry_token`.)"""
    return f"{name}.m3u8"


async def master_playlist(storage: Storage, media: m.Media) -> str:
    require_playable(media)
    text = await _stored_playlist(
        storage, media, keys.hls_key(playable_prefix(media), MASTER_PLAYLIST)
    )
    return (
        "\n".join(
            variant_uri(line.removesuffix("/index.m3u8")) if _is_uri(line) else line
            for line in text.splitlines()
        )
        + "\n"
    )


async def variant_playlist(storage: Storage, settings: Settings, media: m.Media, name: str) -> str:
    """The variant with each segment's URI presigned afresh: while the video is processing it
    grows (an EVENT playlist, no ENDLIST), and a player reloads it for the new segments."""
    require_playable(media)
    key = await _variant_key(storage, media, name)
    text = await _stored_playlist(storage, media, key)
    # Segment URIs are relative to their playlist, as HLS resolves them.
    directory = posixpath.dirname(key)
    lines = []
    for line in text.splitlines():
        if _is_uri(line):
            line = await storage.presign_get(
                f"{directory}/{line}", expires=settings.download_ttl_seconds * 12
            )
        lines.append(line)
    return "\n".join(lines) + "\n"


def cache_control(media: m.Media) -> str:
    """A growing playlist must be fetched afresh every time; a finished one may be kept briefly
    (its presigned URLs expire)."""
    return "private, max-age=60" if media.status == MediaStatus.COMPLETED else "no-store"


async def _variant_key(storage: Storage, media: m.Media, name: str) -> str:
    if media.status == MediaStatus.COMPLETED:
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
        return variant.key
    # Still processing: the variants are those the stored master playlist advertises.
    prefix = playable_prefix(media)
    master = await _stored_playlist(storage, media, keys.hls_key(prefix, MASTER_PLAYLIST))
    advertised = [uri.removesuffix("/index.m3u8") for uri in segment_uris(master)]
    if name not in advertised:
        raise Problem(404, f"No HLS variant {name!r}.", code="no_such_rendition")
    return keys.hls_key(prefix, f"{name}/index.m3u8")


async def _stored_playlist(storage: Storage, media: m.Media, key: str) -> str:
    try:
        return (await storage.get_bytes(key)).decode()
    except ClientError as exc:
        if error_code(exc) not in {"NoSuchKey", "404"}:
            raise
    # Read as playable, then canceled, retried or deleted before its playlist was read.
    raise Problem(409, "This item is no longer playable; fetch it again.", code="not_ready")


def _is_uri(line: str) -> bool:
    return bool(line) and not line.startswith("#")


def require_playable(media: m.Media) -> None:
    if media.kind != MediaKind.VIDEO:
        raise Problem(404, "Images have no HLS playback.", code="not_found")
    if not media.playable:
        raise Problem(
            409,
            "Playback starts once the first seconds of every rendition are stored; "
            f"this item is {media.status}.",
            code="not_ready",
        )

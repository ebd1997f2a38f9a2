"""Where each item's objects live in the bucket: the one owner of the `media/{id}/...` layout.

Everything of one item sits under its prefix, so deleting an item is deleting one prefix.
Keys are relative to `REELAY_S3_KEY_PREFIX`, which `Storage` applies.
"""

from __future__ import annotations

import uuid

ROOT = "media/"


def item_prefix(media_id: uuid.UUID | str) -> str:
    return f"{ROOT}{media_id}/"


def source_key(media_id: uuid.UUID | str, extension: str) -> str:
    """The uploaded original; `extension` (".mp4", or "") keeps the name recognisable."""
    return f"{item_prefix(media_id)}source{extension}"


def output_prefix(media_id: uuid.UUID | str) -> str:
    return f"{item_prefix(media_id)}out/"


def attempt_prefix(output_prefix: str, attempt: int) -> str:
    """Where one attempt publishes its outputs: a retried attempt writes beside, never over, what
    an earlier one published, so a player can never be served a mix of the two."""
    return f"{output_prefix}a{attempt}/"


def hls_key(output_prefix: str, playlist: str) -> str:
    return f"{output_prefix}hls/{playlist}"


def output_key(output_prefix: str, name: str) -> str:
    """A file of the output set outside HLS: "video.mp4", "poster.jpg", "w640.webp"."""
    return f"{output_prefix}{name}"

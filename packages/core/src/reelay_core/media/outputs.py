"""What processing produced: one `Rendition` per output, stored as JSON in `Media.outputs`.

The pipelines write them, the API's schemas and playback read them. The stored JSON is also
what clients see in `outputs`, without `key` (storage keys are ours).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class RenditionKind(enum.StrEnum):
    HLS_VARIANT = "hls_variant"
    MP4 = "mp4"
    POSTER = "poster"
    WEBP = "webp"
    THUMBNAIL = "thumbnail"


@dataclass(frozen=True)
class Rendition:
    name: str  # what clients ask for: "720p", "mp4", "w640", "thumbnail"
    kind: RenditionKind
    width: int
    height: int
    bitrate: int | None  # bits/s, audio included; None for pictures
    size: int  # bytes; for an HLS variant, its playlist and segments together
    key: str  # the object to download; for an HLS variant, its playlist
    filename: str | None = None  # the name a download is saved as; HLS variants are not one file

    def to_json(self) -> dict[str, Any]:
        """The stored form; `filename` is absent rather than null, as clients have always seen."""
        stored: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind.value,
            "width": self.width,
            "height": self.height,
            "bitrate": self.bitrate,
            "size": self.size,
            "key": self.key,
        }
        if self.filename is not None:
            stored["filename"] = self.filename
        return stored

    def public_json(self) -> dict[str, Any]:
        """What the API shows of it: everything but the storage key."""
        public = self.to_json()
        del public["key"]
        return public

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> Rendition:
        return cls(
            name=stored["name"],
            kind=RenditionKind(stored["kind"]),
            width=stored["width"],
            height=stored["height"],
            bitrate=stored["bitrate"],
            size=stored["size"],
            key=stored["key"],
            filename=stored.get("filename"),
        )


def renditions(stored: Iterable[Mapping[str, Any]] | None) -> list[Rendition]:
    """`Media.outputs` read back; null (never processed) is no renditions."""
    return [Rendition.from_json(output) for output in stored or []]

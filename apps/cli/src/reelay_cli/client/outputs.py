"""The `outputs` of a media object as the CLI reads them (the server's `Output` schema).

The client is installable without the server's packages, so it has its own small type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Output:
    name: str
    kind: str  # hls_variant, mp4, poster, webp, thumbnail; a newer server may add kinds
    width: int | None
    height: int | None

    @classmethod
    def from_json(cls, output: Mapping[str, Any]) -> Output:
        return cls(output["name"], output["kind"], output.get("width"), output.get("height"))


def outputs_of(media: Mapping[str, Any]) -> list[Output]:
    """The outputs of a media object; none before it completes."""
    return [Output.from_json(output) for output in media.get("outputs") or []]

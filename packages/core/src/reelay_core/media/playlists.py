"""HLS media playlists of a rung, written from FFmpeg's segment list: growing (EVENT) while the
video is encoded, final (VOD) once it is done. The same segments, in the same order, in both."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    name: str  # relative to the playlist: "seg_00000.ts"
    start: float
    end: float

    @property
    def duration(self) -> float:
        return max(self.end - self.start, 0.0)


def parse_segment_list(text: str) -> list[Segment]:
    """FFmpeg's csv segment list: one `name,start,end` line per finished segment.

    A last line without its newline is still being written and is left for the next read.
    FFmpeg lists the first segment as starting at 0 where its first frame may come a frame or
    two later (the encoder's delay shifts the timestamps), so its duration can be that much
    longer than it is. It is left so: a published segment's duration never changes.
    """
    complete = text[: text.rfind("\n") + 1]
    segments = []
    for row in csv.reader(complete.splitlines()):
        if len(row) != 3:
            raise ValueError(f"not a segment list line: {row!r}")
        segments.append(Segment(row[0], float(row[1]), float(row[2])))
    return segments


def media_playlist(segments: Sequence[Segment], segment_seconds: int, *, ended: bool) -> str:
    """The rung's playlist: EVENT (players keep reloading it) or, once `ended`, VOD.

    The target duration must not change while a playlist grows, so it is the configured
    segment length unless a segment already exceeds it (a source whose keyframes we could
    not force where we wanted them).
    """
    longest = max((round(s.duration) for s in segments), default=0)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{max(segment_seconds, longest, 1)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        f"#EXT-X-PLAYLIST-TYPE:{'VOD' if ended else 'EVENT'}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for segment in segments:
        lines += [f"#EXTINF:{segment.duration:.6f},", segment.name]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def segment_uris(playlist: str) -> list[str]:
    """The URI lines of a playlist: segments of a media playlist, variants of a master."""
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]

"""ffprobe JSON factories, trimmed from real ffprobe 6.0 output for lavfi-generated files."""

from collections.abc import Callable
from typing import Any

import pytest

ProbeFactory = Callable[..., dict[str, Any]]


def _disposition(**flags: int) -> dict[str, int]:
    names = ("default", "dub", "original", "comment", "attached_pic", "timed_thumbnails")
    return {name: flags.get(name, 1 if name == "default" else 0) for name in names}


def video_stream(**overrides: Any) -> dict[str, Any]:
    """A 1920x1080 H.264 stream as ffprobe -show_streams prints it for an MP4."""
    stream = {
        "index": 0,
        "codec_name": "h264",
        "profile": "High",
        "codec_type": "video",
        "codec_tag_string": "avc1",
        "width": 1920,
        "height": 1080,
        "coded_width": 1920,
        "coded_height": 1080,
        "sample_aspect_ratio": "1:1",
        "display_aspect_ratio": "16:9",
        "pix_fmt": "yuv420p",
        "level": 40,
        "r_frame_rate": "15/1",
        "avg_frame_rate": "15/1",
        "time_base": "1/15360",
        "start_time": "0.000000",
        "duration": "2.000000",
        "bit_rate": "8700428",
        "nb_frames": "30",
        "disposition": _disposition(),
        "tags": {"language": "und", "handler_name": "VideoHandler"},
    }
    stream.update(overrides)
    return stream


def audio_stream(**overrides: Any) -> dict[str, Any]:
    stream = {
        "index": 1,
        "codec_name": "aac",
        "profile": "LC",
        "codec_type": "audio",
        "codec_tag_string": "mp4a",
        "sample_fmt": "fltp",
        "sample_rate": "44100",
        "channels": 1,
        "channel_layout": "mono",
        "r_frame_rate": "0/0",
        "avg_frame_rate": "0/0",
        "duration": "2.000000",
        "bit_rate": "69710",
        "disposition": _disposition(),
        "tags": {"language": "und", "handler_name": "SoundHandler"},
    }
    stream.update(overrides)
    return stream


def cover_art_stream(**overrides: Any) -> dict[str, Any]:
    """An MJPEG cover picture: ffprobe lists it as a video stream with attached_pic=1."""
    stream = {
        "index": 2,
        "codec_name": "mjpeg",
        "codec_type": "video",
        "width": 600,
        "height": 600,
        "r_frame_rate": "90000/1",
        "avg_frame_rate": "0/0",
        "disposition": _disposition(attached_pic=1),
    }
    stream.update(overrides)
    return stream


def rotation_side_data(ccw_degrees: int) -> list[dict[str, Any]]:
    """What ffprobe 6.0 prints for a display matrix, e.g. from `-display_rotation 90`."""
    return [{"side_data_type": "Display Matrix", "rotation": ccw_degrees}]


def probe_json(
    *,
    format_name: str = "mov,mp4,m4a,3gp,3g2,mj2",
    duration: str | None = "2.000000",
    bit_rate: str | None = "8779800",
    streams: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    fmt: dict[str, Any] = {
        "filename": "file:/tmp/work/source.mp4",
        "nb_streams": 2,
        "format_name": format_name,
        "start_time": "0.000000",
        "size": "2194950",
        "probe_score": 100,
    }
    if duration is not None:
        fmt["duration"] = duration
    if bit_rate is not None:
        fmt["bit_rate"] = bit_rate
    return {
        "streams": [video_stream(), audio_stream()] if streams is None else streams,
        "format": fmt,
    }


@pytest.fixture
def probe() -> ProbeFactory:
    return probe_json


@pytest.fixture
def video() -> Callable[..., dict[str, Any]]:
    return video_stream


@pytest.fixture
def audio() -> Callable[..., dict[str, Any]]:
    return audio_stream


@pytest.fixture
def cover_art() -> Callable[..., dict[str, Any]]:
    return cover_art_stream


@pytest.fixture
def rotated() -> Callable[[int], list[dict[str, Any]]]:
    return rotation_side_data

"""Content types the worker stores outputs with (players and CDNs go by them)."""

from pathlib import Path

import pytest
from reelay_worker.pipeline.outputs import content_type


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hls/master.m3u8", "application/vnd.apple.mpegurl"),
        ("hls/720p/index.m3u8", "application/vnd.apple.mpegurl"),
        ("hls/720p/seg_00000.ts", "video/mp2t"),
        ("video.mp4", "video/mp4"),
        ("poster.jpg", "image/jpeg"),
        ("w640.webp", "image/webp"),
        ("unknown.zzz", "application/octet-stream"),
    ],
)
def test_content_type(name, expected):
    assert content_type(Path(name)) == expected

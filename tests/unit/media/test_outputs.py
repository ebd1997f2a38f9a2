"""The stored form of a rendition, and what the API shows of it."""

import pytest
from reelay_core.media.outputs import Rendition, RenditionKind, renditions

VARIANT = {
    "name": "720p", "kind": "hls_variant", "width": 1280, "height": 720,
    "bitrate": 2_928_000, "size": 3_456_789, "key": "media/1/out/hls/720p/index.m3u8",
}  # fmt: skip
MP4 = {
    "name": "mp4", "kind": "mp4", "width": 1920, "height": 1080, "bitrate": 5_128_000,
    "size": 9_876_543, "key": "media/1/out/video.mp4", "filename": "clip.mp4",
}  # fmt: skip


@pytest.mark.parametrize("stored", [VARIANT, MP4])
def test_stored_json_round_trips_exactly(stored):
    rendition = Rendition.from_json(stored)
    assert rendition.to_json() == stored
    assert list(rendition.to_json()) == list(stored)


def test_a_variant_has_no_filename_rather_than_a_null_one():
    variant = Rendition.from_json(VARIANT)
    assert variant.kind is RenditionKind.HLS_VARIANT and variant.filename is None
    assert "filename" not in variant.to_json()


def test_public_json_is_the_stored_json_without_the_key():
    assert Rendition.from_json(MP4).public_json() == {
        "name": "mp4", "kind": "mp4", "width": 1920, "height": 1080, "bitrate": 5_128_000,
        "size": 9_876_543, "filename": "clip.mp4",
    }  # fmt: skip
    assert "key" not in Rendition.from_json(VARIANT).public_json()


def test_renditions_of_a_column():
    assert renditions(None) == [] and renditions([]) == []
    assert [r.name for r in renditions([VARIANT, MP4])] == ["720p", "mp4"]


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        Rendition.from_json(VARIANT | {"kind": "gif"})

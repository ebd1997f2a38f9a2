"""How the CLI reads a media object's outputs, and which one it downloads by default."""

from reelay_cli.client.outputs import Output, outputs_of
from reelay_cli.commands.media import default_rendition


def media(kind: str, *outputs: dict) -> dict:
    return {"kind": kind, "outputs": list(outputs)}


MP4 = {"name": "mp4", "kind": "mp4", "width": 1920, "height": 1080, "filename": "clip.mp4"}
VARIANT = {"name": "720p", "kind": "hls_variant", "width": 1280, "height": 720}


def test_outputs_of_a_media_object():
    assert outputs_of({"outputs": None}) == [] and outputs_of({}) == []
    assert outputs_of(media("video", VARIANT, MP4)) == [
        Output("720p", "hls_variant", 1280, 720),
        Output("mp4", "mp4", 1920, 1080),
    ]


def test_default_rendition():
    assert default_rendition(media("video", VARIANT, MP4)) == "mp4"
    assert default_rendition(media("video")) == "source"
    webps = [{"name": f"w{w}", "kind": "webp", "width": w, "height": w} for w in (320, 700)]
    thumbnail = {"name": "thumbnail", "kind": "thumbnail", "width": 256, "height": 256}
    assert default_rendition(media("image", *webps, thumbnail)) == "w700"

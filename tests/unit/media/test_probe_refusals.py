"""Why ffprobe could not open an upload, told from its first bytes and ffprobe's last words.

(Tests of reelay_core.media.probe.explain_unreadable; they would sit with tests/unit/media.)
"""

import pytest
from reelay_core.media.probe import (
    CODEC_WHITELIST,
    FORMAT_WHITELIST,
    explain_unreadable,
    ffprobe_args,
)

NOT_ON_WHITELIST = f"[hls @ 0x1] Format not on whitelist '{FORMAT_WHITELIST}'"
INVALID = "file:/tmp/x/source.mp4: Invalid data found when processing input"


@pytest.mark.parametrize(
    "head",
    [
        b"#EXTM3U\n#EXT-X-VERSION:3\n",
        b"\xef\xbb\xbf#EXTM3U\n",  # with a byte-order mark
        b"  \n#EXTM3U\n",
        b"ffconcat version 1.0\nfile /etc/passwd\n",
        b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">',
        b"v=0\no=- 0 0 IN IP4 127.0.0.1\n",  # SDP (RTP session description)
    ],
)
def test_playlists_and_reference_files(head):
    refused = explain_unreadable(head, NOT_ON_WHITELIST)
    assert refused.code == "unsupported_format"
    assert refused.message.startswith("Playlists and files that point to other files")


@pytest.mark.parametrize(
    "head",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\xff\xd8\xff\xe0\x00\x10JFIF",
        b"GIF89a\x01\x00",
        b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    ],
)
def test_images(head):
    refused = explain_unreadable(head, NOT_ON_WHITELIST)
    assert (refused.code, refused.message) == (
        "unsupported_format",
        "This is an image, not a video; upload it as an image.",
    )


def test_other_recognised_but_refused_containers():
    refused = explain_unreadable(b"\x00\x00\x01\xb3 raw mpeg video", NOT_ON_WHITELIST)
    assert refused.code == "unsupported_format"
    assert "MP4, MOV, MKV" in refused.message
    assert refused.detail == NOT_ON_WHITELIST


def test_garbage():
    refused = explain_unreadable(bytes(range(256)), INVALID)
    assert (refused.code, refused.message) == (
        "invalid_media",
        "The file could not be read as a video.",
    )
    assert refused.detail == INVALID


def test_empty_file():
    assert explain_unreadable(b"", "").code == "invalid_media"


def test_probe_opens_only_allowed_containers():
    args = ffprobe_args("/usr/bin/ffprobe", "/tmp/job/source.mp4")
    assert args[args.index("-format_whitelist") + 1] == FORMAT_WHITELIST
    assert args.index("-format_whitelist") < args.index("-i")
    assert "-format_whitelist" not in ffprobe_args("ffprobe", "/tmp/poster.jpg", formats=None)


def test_probe_opens_only_allowed_decoders():
    args = ffprobe_args("/usr/bin/ffprobe", "/tmp/job/source.mp4")
    assert args[args.index("-codec_whitelist") + 1] == CODEC_WHITELIST
    assert args.index("-codec_whitelist") < args.index("-i")
    assert {"h264", "mp3float", "libdav1d"} <= set(CODEC_WHITELIST.split(","))
    assert not {"zmbv", "jpeg2000"} & set(CODEC_WHITELIST.split(","))


def test_a_refused_decoder_is_named():
    stderr = "[zmbv @ 0x1] Codec (zmbv) not on whitelist 'aac,...'"
    refused = explain_unreadable(b"RIFF\x00\x00\x00\x00AVI LIST", stderr)
    assert refused.code == "unsupported_format" and "(zmbv)" in refused.message

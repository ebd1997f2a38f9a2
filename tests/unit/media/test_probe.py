import pytest
from reelay_core.media.errors import MediaRejected
from reelay_core.media.probe import SourceInfo, ffprobe_args, parse_probe


def rejected(data, **limits) -> MediaRejected:
    with pytest.raises(MediaRejected) as info:
        parse_probe(data, **limits)
    return info.value


def test_mp4_with_audio(probe):
    info = parse_probe(probe())
    assert info == SourceInfo(
        format_name="mov,mp4,m4a,3gp,3g2,mj2",
        duration=2.0,
        width=1920,
        height=1080,
        rotation=0,
        video_codec="h264",
        audio_codec="aac",
        has_audio=True,
        frame_rate=15.0,
        bitrate=8779800,
    )
    source = info.as_dict()
    assert {
        k: source[k] for k in ("duration", "width", "height", "video_codec", "audio_codec")
    } == {
        "duration": 2.0,
        "width": 1920,
        "height": 1080,
        "video_codec": "h264",
        "audio_codec": "aac",
    }
    assert source["rotation"] == 0 and source["format"] == "mov,mp4,m4a,3gp,3g2,mj2"


def test_no_audio(probe, video):
    info = parse_probe(probe(streams=[video()]))
    assert info.has_audio is False and info.audio_codec is None


@pytest.mark.parametrize(
    ("side_data_ccw", "tag", "rotation", "size"),
    [
        (90, None, 270, (1080, 1920)),  # ffmpeg -display_rotation 90
        (-90, None, 90, (1080, 1920)),  # phones recording in portrait
        (180, None, 180, (1920, 1080)),
        (None, "90", 90, (1080, 1920)),  # older files: the rotate tag, clockwise
        (None, "270", 270, (1080, 1920)),
    ],
)
def test_rotation_gives_display_size(
    probe, video, audio, rotated, side_data_ccw, tag, rotation, size
):
    overrides = {}
    if side_data_ccw is not None:
        overrides["side_data_list"] = rotated(side_data_ccw)
    if tag is not None:
        overrides["tags"] = {"rotate": tag}
    info = parse_probe(probe(streams=[video(**overrides), audio()]))
    assert info.rotation == rotation
    assert (info.width, info.height) == size


def test_anamorphic_pixels_give_display_width(probe, video):
    # 320x240 stored with 8:9 pixels (DV-style) is shown 284x240.
    stream = video(width=320, height=240, sample_aspect_ratio="8:9", duration=None)
    info = parse_probe(probe(format_name="matroska,webm", duration="1.000000", streams=[stream]))
    assert (info.width, info.height) == (284, 240)


def test_matroska_duration_comes_from_the_container(probe, video):
    stream = video()
    del stream["duration"]
    info = parse_probe(probe(format_name="matroska,webm", duration="12.500000", streams=[stream]))
    assert info.duration == 12.5


def test_stream_duration_when_the_container_has_none(probe, video):
    info = parse_probe(probe(duration=None, streams=[video(duration="3.5")]))
    assert info.duration == 3.5


@pytest.mark.parametrize("format_name", ["mpegts", "avi", "flv", "asf", "mpeg", "matroska,webm"])
def test_allowed_containers(probe, format_name):
    assert parse_probe(probe(format_name=format_name)).format_name == format_name


def test_cover_art_is_not_the_video(probe, video, audio, cover_art):
    streams = [cover_art(index=0), video(index=1, width=1280, height=720), audio(index=2)]
    info = parse_probe(probe(streams=streams))
    assert (info.video_codec, info.width, info.height) == ("h264", 1280, 720)


def test_audio_with_cover_art_has_no_video(probe, audio, cover_art):
    error = rejected(probe(format_name="mov,mp4,m4a,3gp,3g2,mj2", streams=[audio(), cover_art()]))
    assert error.code == "no_video_stream"


def test_audio_only(probe, audio):
    assert rejected(probe(streams=[audio()])).code == "no_video_stream"


@pytest.mark.parametrize(
    ("format_name", "words"),
    [
        ("hls", "Playlists"),
        ("concat", "Playlists"),
        ("rtsp", "network"),
        ("image2", "image"),
        ("png_pipe", "image"),
        ("mp3", "not supported"),
        ("gif", "not supported"),
    ],
)
def test_refused_containers(probe, format_name, words):
    error = rejected(probe(format_name=format_name))
    assert error.code == "unsupported_format"
    assert words in error.message


@pytest.mark.parametrize("data", [{}, {"streams": []}, {"format": {}, "streams": []}])
def test_nothing_readable(data):
    assert rejected(data).code == "invalid_media"


def test_container_without_streams(probe):
    assert rejected(probe(streams=[])).code == "invalid_media"


@pytest.mark.parametrize("width", [0, None, "N/A"])
def test_unreadable_size(probe, video, width):
    assert rejected(probe(streams=[video(width=width)])).code == "invalid_media"


@pytest.mark.parametrize("duration", [None, "N/A", "0.000000"])
def test_unknown_length(probe, video, duration):
    assert rejected(probe(duration=duration, streams=[video(duration=duration)])).code == (
        "invalid_media"
    )


def test_unknown_codec(probe, video):
    assert rejected(probe(streams=[video(codec_name=None)])).code == "unsupported_format"


@pytest.mark.parametrize("codec", ["zmbv", "jpeg2000", "cinepak"])
def test_video_codec_outside_the_allow_list(probe, video, codec):
    refused = rejected(probe(streams=[video(codec_name=codec)]))
    assert refused.code == "unsupported_format" and codec in refused.message


def test_audio_codec_outside_the_allow_list(probe, video, audio):
    refused = rejected(probe(streams=[video(), audio(codec_name="adpcm_ms")]))
    assert refused.code == "unsupported_format" and "adpcm_ms" in refused.message


def test_too_long(probe, video):
    data = probe(duration="14400.5", streams=[video(duration="14400.5")])
    error = rejected(data)
    assert error.code == "too_long"
    assert error.message == "The video is 4 h long; the limit is 4 h."
    assert rejected(probe(), max_duration=1.5).message == "The video is 2 s long; the limit is 1 s."
    data = probe(duration="15120", streams=[video(duration="15120")])
    assert rejected(data).message == "The video is 4 h 12 min long; the limit is 4 h."
    assert parse_probe(probe(duration="14400", streams=[video(duration="14400")])).duration == 14400


@pytest.mark.parametrize(
    ("width", "height", "ok"),
    [
        (7680, 4320, True),  # 8K UHD
        (4320, 7680, True),  # 8K portrait
        (8192, 1000, True),
        (7681, 4320, False),  # more pixels than 8K
        (8200, 1000, False),  # a side above 8192
        (1000, 9000, False),
    ],
)
def test_resolution_limit(probe, video, width, height, ok):
    data = probe(streams=[video(width=width, height=height)])
    if ok:
        assert parse_probe(data).width == width
    else:
        assert rejected(data).code == "resolution_too_large"


def test_resolution_limit_is_the_operators(probe, video):
    """REELAY_MAX_VIDEO_PIXELS / _SIDE: a deployment may accept no more than 1080p."""
    data = probe(streams=[video(width=2560, height=1440)])
    refusal = rejected(data, max_pixels=1920 * 1080, max_side=1920)
    assert refusal.code == "resolution_too_large" and "2,073,600 pixels" in refusal.message
    assert parse_probe(probe(streams=[video(width=1920, height=1080)]), max_pixels=1920 * 1080)


@pytest.mark.parametrize(
    ("avg", "r", "expected"),
    [
        ("30000/1001", "30000/1001", 29.97),
        ("0/0", "25/1", 25.0),
        ("0/0", "90000/1", 30.0),  # a timebase, not a rate: fall back
        (None, None, 30.0),
    ],
)
def test_frame_rate(probe, video, avg, r, expected):
    info = parse_probe(probe(streams=[video(avg_frame_rate=avg, r_frame_rate=r)]))
    assert info.frame_rate == expected


def test_bitrate_missing(probe):
    assert parse_probe(probe(bit_rate=None)).bitrate is None


def test_ffprobe_args_keep_to_local_files():
    args = ffprobe_args("/usr/bin/ffprobe", "/tmp/job/source:1.mp4")
    assert args[0] == "/usr/bin/ffprobe"
    assert args[args.index("-protocol_whitelist") + 1] == "file"
    assert args[-2:] == ["-i", "file:/tmp/job/source:1.mp4"]
    assert {"-show_format", "-show_streams"} <= set(args)
    assert args[args.index("-print_format") + 1] == "json"

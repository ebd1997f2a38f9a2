import itertools

import pytest
from reelay_core.media.command import (
    PLANNED_SPEED,
    build_master_playlist,
    build_transcode_args,
    h264_level,
    output_layout,
    poster_size,
    poster_time,
    segment_cuts,
)
from reelay_core.media.ladder import choose_ladder

FFMPEG = "/opt/ffmpeg/bin/ffmpeg"
OUT = "/tmp/reelay-job/out"


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def transcode(ladder=None, **overrides) -> list[str]:
    kwargs = {"has_audio": True, "frame_rate": 30.0, "poster_at": 1.5} | overrides
    return build_transcode_args(
        FFMPEG, "/tmp/reelay-job/source.mp4", OUT, ladder or choose_ladder(1920, 1080), **kwargs
    )


def test_global_and_input_options():
    args = transcode()
    assert args[:10] == [
        FFMPEG, "-nostdin", "-hide_banner", "-y", "-loglevel", "warning",
        "-progress", "pipe:1", "-nostats", "-protocol_whitelist",
    ]  # fmt: skip
    source = args.index("-i")
    assert args[source + 1] == "file:/tmp/reelay-job/source.mp4"
    assert (
        args.index("-protocol_whitelist") < source and option(args, "-protocol_whitelist") == "file"
    )
    assert args.index("-format_whitelist") < source
    assert "mov" in option(args, "-format_whitelist").split(",")
    assert args.index("-codec_whitelist") < source
    assert "h264" in option(args, "-codec_whitelist").split(",")
    assert "-t" not in args


def test_limit_seconds_caps_the_input():
    args = transcode(limit_seconds=61.5)
    assert args.index("-t") < args.index("-i") and option(args, "-t") == "61.5"


def test_one_decode_split_into_the_ladder_and_a_poster():
    graph = option(transcode(), "-filter_complex")
    assert graph == (
        "[0:V:0]split=5[s0][s1][s2][s3][s4];"
        "[s0]scale=1920:1080,setsar=1,format=yuv420p[v0];"
        "[s1]scale=1280:720,setsar=1,format=yuv420p[v1];"
        "[s2]scale=854:480,setsar=1,format=yuv420p[v2];"
        "[s3]scale=640:360,setsar=1,format=yuv420p[v3];"
        "[s4]select='eq(n,0)+gte(t,1.5)*lt(selected_n,2)',"
        "scale=1280:720:out_range=full,setsar=1,format=yuv420p[poster]"
    )


def test_each_rung_is_encoded_once_with_aligned_keyframes():
    args = transcode(frame_rate=25.0, segment_seconds=4, preset="faster")
    maps = [args[i + 1] for i, a in enumerate(args) if a == "-map"]
    assert maps == ["[v0]", "[v1]", "[v2]", "[v3]", *["0:a:0"] * 4, "[poster]"]
    assert args.count("libx264") == 1 and option(args, "-preset") == "faster"
    assert option(args, "-profile:v") == "high"
    assert (option(args, "-g"), option(args, "-keyint_min"), option(args, "-sc_threshold")) == (
        "100",
        "100",
        "0",
    )
    assert option(args, "-force_key_frames") == "expr:gte(t,n_forced*4)"
    assert option(args, "-b:v:0") == "5000000" and option(args, "-maxrate:v:0") == "5350000"
    assert option(args, "-bufsize:v:3") == "1200000" and option(args, "-level:v:0") == "4.0"
    assert option(args, "-c:a") == "aac" and option(args, "-b:a:3") == "96000"
    assert option(args, "-map_metadata") == "-1"


def test_tee_feeds_hls_per_rung_and_the_top_rung_to_mp4():
    args = transcode(segment_seconds=6)
    assert option(args, "-f") == "tee"
    slaves = args[args.index("tee") + 1].split("|")
    assert len(slaves) == 5
    assert slaves[1] == (
        r"[select=\'v:1,a:1\':onfail=abort:f=segment:segment_format=mpegts:segment_time=6"
        ":segment_time_delta=0.017"  # half a frame at 30 fps: a keyframe rounded early still cuts
        f":segment_list={OUT}/720p/segments.csv:segment_list_type=csv]{OUT}/720p/seg_%05d.ts"
    )
    assert slaves[4] == (
        rf"[select=\'v:0,a:0\':onfail=abort:f=mp4:movflags=+faststart]{OUT}/video.mp4"
    )


def test_short_segments_first_then_the_configured_length():
    args = transcode(segment_seconds=6, init_seconds=2, limit_seconds=21)
    # Keyframes at 0 and at every cut, where every rung is cut.
    assert option(args, "-force_key_frames") == (
        "expr:gte(t,if(eq(n_forced,0),0,if(eq(n_forced,1),2,if(eq(n_forced,2),4,8+(n_forced-3)*6))))"
    )
    slaves = args[args.index("tee") + 1].split("|")
    assert all(":segment_times=2,4,8,14,20:" in slave for slave in slaves[:4]), slaves
    # Short ones, then each as long as an encode at 1.5x real time keeps ahead of a player
    # started after the first, up to the configured length.
    assert segment_cuts(30, 6, 1) == [1, 2, 4, 7, 11, 17, 23, 29]
    assert segment_cuts(21, 6, 2.5) == [2.5, 5, 10, 16]
    assert segment_cuts(21, 6, 0) is None and segment_cuts(None, 6, 2) is None
    assert segment_cuts(21, 6, 6) is None  # not shorter: every segment alike
    assert segment_cuts(0.8, 6, 1) == []  # shorter than the first segment: one segment


def test_each_segment_is_stored_before_a_player_started_at_playable_needs_it():
    for init, length in [(1, 6), (1, 4), (2, 6), (0.5, 10)]:
        ends = [0.0, *(segment_cuts(600, length, init) or [])]
        for before, end in itertools.pairwise(ends[1:]):
            # Ready when the encode reaches `end`, PLANNED_SPEED times faster than playback
            # that began once the first segment (ending at `init`) was stored.
            assert (end - init) / PLANNED_SPEED <= before, (init, length, ends)
        assert all(0 < b - a <= length for a, b in itertools.pairwise(ends)), ends
        assert ends[-1] - ends[-2] == length  # then the configured length


def test_poster_output():
    args = transcode()
    poster = args[args.index("[poster]") - 1 :]
    assert poster[-1] == f"{OUT}/poster.jpg"
    assert option(poster, "-update") == "1" and option(poster, "-frames:v") == "2"


def test_without_audio():
    args = transcode(has_audio=False)
    assert "0:a:0" not in args and "-c:a" not in args
    slaves = args[args.index("tee") + 1].split("|")
    assert slaves[0].startswith(r"[select=\'v:0\':onfail=abort:f=segment")


def test_one_rung():
    args = transcode(choose_ladder(640, 360))
    graph = option(args, "-filter_complex")
    assert graph.startswith("[0:V:0]split=2[s0][s1];[s0]scale=640:360")


@pytest.mark.parametrize("out_dir", ["/tmp/a:b", "/tmp/a|b", "/tmp/it's", "/tmp/a b", "/tmp/[x]"])
def test_out_dir_the_tee_spec_could_misread(out_dir):
    with pytest.raises(ValueError):
        build_transcode_args(
            FFMPEG, "/s.mp4", out_dir, choose_ladder(640, 360),
            has_audio=True, frame_rate=30, poster_at=1,
        )  # fmt: skip


def test_empty_ladder():
    with pytest.raises(ValueError):
        build_transcode_args(FFMPEG, "/s.mp4", OUT, [], has_audio=True, frame_rate=30, poster_at=1)


def test_output_layout():
    layout = output_layout(choose_ladder(1280, 720))
    assert layout.master == "master.m3u8" and layout.mp4 == "video.mp4"
    assert layout.poster == "poster.jpg"
    assert dict(layout.playlists) == {
        "720p": "720p/index.m3u8",
        "480p": "480p/index.m3u8",
        "360p": "360p/index.m3u8",
    }
    assert layout.directories == ("720p", "480p", "360p")


def test_master_playlist():
    text = build_master_playlist(choose_ladder(1920, 1080)[:2], True, frame_rate=30)
    assert text == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=6025800,AVERAGE-BANDWIDTH=5640800,RESOLUTION=1920x1080,"
        'CODECS="avc1.640028,mp4a.40.2"\n'
        "1080p/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=3436400,AVERAGE-BANDWIDTH=3220800,RESOLUTION=1280x720,"
        'CODECS="avc1.64001f,mp4a.40.2"\n'
        "720p/index.m3u8\n"
    )


def test_master_playlist_without_audio():
    text = build_master_playlist(choose_ladder(640, 360), False, frame_rate=30)
    assert 'CODECS="avc1.64001e"' in text and "BANDWIDTH=941600," in text


@pytest.mark.parametrize(
    ("width", "height", "fps", "maxrate", "level"),
    [
        (640, 360, 30, 856_000, 30),
        (854, 480, 30, 1_498_000, 31),  # 1620 MBs x 30 fps is past 3.0's 40500 MB/s
        (854, 480, 25, 1_498_000, 30),
        (1280, 720, 30, 2_996_000, 31),
        (1280, 720, 60, 2_996_000, 32),
        (1920, 1080, 30, 5_350_000, 40),
        (1080, 1920, 30, 5_350_000, 40),
        (1920, 1080, 60, 5_350_000, 42),
        (1920, 1080, 30, 30_000_000, 41),
        (3840, 2160, 30, 20_000_000, 51),
    ],
)
def test_h264_level(width, height, fps, maxrate, level):
    assert h264_level(width, height, fps, maxrate) == level


def test_poster_size_and_time():
    assert poster_size(choose_ladder(1920, 1080)[0]) == (1280, 720)
    assert poster_size(choose_ladder(1080, 1920)[0]) == (1080, 1920)
    assert poster_size(choose_ladder(640, 360)[0]) == (640, 360)
    assert poster_time(2.0) == 0.2 and poster_time(3600) == 5.0


def test_high_frame_rates_are_capped_at_60():
    args = transcode(frame_rate=240.0, segment_seconds=6)
    assert option(args, "-filter_complex").startswith("[0:V:0]fps=60,split=5")
    assert option(args, "-g") == "360"
    assert h264_level(1920, 1080, 240, 5_350_000) == h264_level(1920, 1080, 60, 5_350_000) == 42
    assert "fps=" not in option(transcode(frame_rate=59.94), "-filter_complex")

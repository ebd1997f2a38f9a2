"""The benchmark's baseline builds the same files as the one pass, one process per rendition."""

from reelay_core.media.ladder import choose_ladder

from bench.ladder_one_pass_vs_per_rendition import build_per_rendition_args

FFMPEG = "/opt/ffmpeg/bin/ffmpeg"
OUT = "/tmp/reelay-job/out"


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_per_rendition_baseline():
    ladder = choose_ladder(1920, 1080)
    commands = build_per_rendition_args(
        FFMPEG, "/s.mp4", OUT, ladder, has_audio=True, frame_rate=30, poster_at=1
    )
    assert len(commands) == 5
    for rung, args in zip(ladder, commands, strict=False):
        tee = args[args.index("tee") + 1]
        assert tee.count("f=segment") == 1 and f"{OUT}/{rung.name}/seg_%05d.ts" in tee
        assert "f=mp4" not in tee and "[poster]" not in args
    last = commands[-1]
    tee = last[last.index("tee") + 1]
    assert "f=segment" not in tee and "f=mp4" in tee and last[-1] == f"{OUT}/poster.jpg"
    assert option(last, "-b:v:0") == "5000000"

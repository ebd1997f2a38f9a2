import pytest
from reelay_core.media.progress import (
    ProgressParser,
    ProgressSample,
    ProgressThrottle,
    eta_seconds,
    percent,
)

# Two blocks as FFmpeg 6.0 prints them with `-progress pipe:1` (a ladder with a poster).
FIRST_BLOCK = """\
frame=0
fps=0.00
stream_0_0_q=0.0
stream_1_0_q=0.0
bitrate=N/A
total_size=N/A
out_time_us=N/A
out_time_ms=N/A
out_time=N/A
dup_frames=0
drop_frames=0
speed=N/A
progress=continue
"""
LAST_BLOCK = """\
frame=30
fps=13.99
stream_0_0_q=-1.0
stream_1_0_q=3.0
bitrate=N/A
total_size=N/A
out_time_us=2005333
out_time_ms=2005333
out_time=00:00:02.005333
dup_frames=0
drop_frames=0
speed=0.935x
progress=end
"""


def feed_all(parser: ProgressParser, text: str) -> list[ProgressSample]:
    return [s for line in text.splitlines(keepends=True) if (s := parser.feed(line))]


def test_blocks_become_samples():
    parser = ProgressParser()
    samples = feed_all(parser, FIRST_BLOCK + LAST_BLOCK)
    assert samples == [
        ProgressSample(out_time_s=0.0, speed=None, frame=0, done=False),
        ProgressSample(out_time_s=2.005333, speed=0.935, frame=30, done=True),
    ]


def test_only_a_completed_block_gives_a_sample():
    parser = ProgressParser()
    assert [parser.feed(line) for line in LAST_BLOCK.splitlines()[:-1]] == [None] * 12
    assert parser.feed("progress=end\n") is not None


def test_garbage_is_ignored():
    parser = ProgressParser()
    text = "\x00\xff nonsense\n\nframe=abc\nspeed=fast\nout_time_us=1500000\n=\nprogress=continue\n"
    assert feed_all(parser, text) == [
        ProgressSample(out_time_s=1.5, speed=None, frame=None, done=False)
    ]


def test_out_time_fallbacks_and_negative_start():
    parser = ProgressParser()
    assert parser.feed("out_time=00:01:02.500000") is None
    assert parser.feed("progress=continue").out_time_s == 62.5
    parser.feed("out_time_us=-23220")
    parser.feed("out_time=-00:00:00.023220")
    assert parser.feed("progress=continue").out_time_s == 0.0
    parser.feed("out_time=nonsense")
    assert parser.feed("progress=continue").out_time_s == 0.0


def test_each_block_starts_empty():
    parser = ProgressParser()
    feed_all(parser, "frame=10\nspeed=2x\nprogress=continue\n")
    assert parser.feed("progress=continue") == ProgressSample(0.0, None, None, False)


@pytest.mark.parametrize(
    ("out_time", "duration", "expected"),
    [(0, 10, 0.0), (5, 10, 50.0), (10.2, 10, 100.0), (-1, 10, 0.0), (3, 0, 0.0)],
)
def test_percent(out_time, duration, expected):
    assert percent(out_time, duration) == expected


@pytest.mark.parametrize(
    ("out_time", "duration", "speed", "expected"),
    [(10, 70, 2.0, 30), (0, 60, 0.5, 120), (80, 70, 2.0, 0), (10, 70, None, None),
     (10, 70, 0.0, None), (1, 0, 1.0, None)],
)  # fmt: skip
def test_eta(out_time, duration, speed, expected):
    assert eta_seconds(out_time, duration, speed) == expected


def test_throttle_emits_on_delta_or_after_an_interval():
    throttle = ProgressThrottle(min_interval=0.5, min_delta=1.0)
    assert throttle.should_emit(0.0, now=100.0)  # the first step
    assert not throttle.should_emit(0.4, now=100.1)  # small and soon
    assert throttle.should_emit(1.2, now=100.2)  # >= 1 point
    assert not throttle.should_emit(1.5, now=100.6)  # 0.4 s since the last emit
    assert throttle.should_emit(1.5, now=100.8)  # 0.6 s and it rose
    assert not throttle.should_emit(1.5, now=105.0)  # no change: nothing to say


def test_throttle_is_monotonic():
    throttle = ProgressThrottle()
    assert throttle.should_emit(40.0, now=0.0)
    assert throttle.monotonic(38.0) == 40.0
    assert not throttle.should_emit(38.0, now=10.0)
    assert throttle.should_emit(41.0, now=10.1) and throttle.monotonic(41.0) == 41.0


def test_throttle_always_emits_100_once():
    throttle = ProgressThrottle(min_interval=10, min_delta=5)
    assert throttle.should_emit(99.5, now=0.0)
    assert throttle.should_emit(100.0, now=0.01)
    assert throttle.monotonic(100.0) == 100.0
    assert not throttle.should_emit(100.0, now=0.02)
    assert not throttle.should_emit(120.0, now=50.0)  # clamped to 100, already said

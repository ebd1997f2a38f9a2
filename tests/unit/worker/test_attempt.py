"""How an attempt turns stage progress into one bar, and how long it waits before a retry."""

import itertools

import pytest
from reelay_worker.jobs.attempt import STAGE_SPANS, overall_progress, retry_delay

STAGES = ["probe", "transcode", "package", "upload"]


def test_stages_cover_the_bar_in_order_without_gaps():
    assert list(STAGE_SPANS) == STAGES
    assert STAGE_SPANS["probe"][0] == 0 and STAGE_SPANS["upload"][1] == 100
    for (_, (_, end)), (_, (start, _)) in itertools.pairwise(STAGE_SPANS.items()):
        assert end == start


def test_progress_through_all_stages_never_decreases():
    steps = [overall_progress(s, f / 10) for s in STAGES for f in range(11)]
    assert steps == sorted(steps)
    assert steps[0] == 0 and steps[-1] == 100


@pytest.mark.parametrize(
    ("stage", "fraction", "expected"),
    [
        ("transcode", 0.0, 2.0),
        ("transcode", 0.5, 46.0),
        ("transcode", 1.0, 90.0),
        ("upload", 0.5, 95.5),
        ("transcode", -0.3, 2.0),  # FFmpeg's out_time can start negative
        ("transcode", 1.7, 90.0),  # or run past the probed duration
    ],
)
def test_stage_fraction_maps_into_its_span(stage, fraction, expected):
    assert overall_progress(stage, fraction) == pytest.approx(expected)


def test_unknown_stage_is_a_bug():
    with pytest.raises(KeyError):
        overall_progress("encode", 0.5)


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 2.0), (2, 8.0), (3, 32.0), (4, 32.0), (9, 32.0), (0, 2.0)]
)
def test_retry_delay_follows_the_schedule_then_repeats_the_last(attempt, expected):
    assert retry_delay([2.0, 8.0, 32.0], attempt) == expected


def test_no_schedule_means_no_wait():
    assert retry_delay([], 1) == 0.0

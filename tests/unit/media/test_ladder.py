import pytest
from reelay_core.media.ladder import (
    DEFAULT_HEIGHTS,
    Rung,
    choose_ladder,
    image_widths,
    thumbnail_size,
)


def sizes(ladder: list[Rung]) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in ladder]


def test_1080p_source_gets_the_full_ladder():
    ladder = choose_ladder(1920, 1080)
    assert sizes(ladder) == [
        ("1080p", 1920, 1080),
        ("720p", 1280, 720),
        ("480p", 854, 480),
        ("360p", 640, 360),
    ]
    top = ladder[0]
    assert (top.video_bitrate, top.maxrate, top.bufsize, top.audio_bitrate) == (
        5_000_000,
        5_350_000,
        7_500_000,
        128_000,
    )
    assert [r.video_bitrate for r in ladder] == [5_000_000, 2_800_000, 1_400_000, 800_000]


def test_never_above_the_source():
    assert sizes(choose_ladder(3840, 2160))[0] == ("1080p", 1920, 1080)
    assert [r.name for r in choose_ladder(1280, 720)] == ["720p", "480p", "360p"]
    assert [r.name for r in choose_ladder(1000, 700)] == ["480p", "360p"]


def test_360p_source_gets_one_rung():
    assert sizes(choose_ladder(640, 360)) == [("360p", 640, 360)]


def test_small_source_gets_one_rung_at_its_own_size():
    assert sizes(choose_ladder(320, 240)) == [("240p", 320, 240)]
    # Odd sizes round to even, never up past the source.
    assert sizes(choose_ladder(321, 181)) == [("180p", 320, 180)]
    small = choose_ladder(320, 240)[0]
    assert 0 < small.video_bitrate < 800_000 and small.maxrate > small.video_bitrate


def test_portrait_rungs_are_named_by_the_short_side():
    assert sizes(choose_ladder(1080, 1920)) == [
        ("1080p", 1080, 1920),
        ("720p", 720, 1280),
        ("480p", 480, 854),
        ("360p", 360, 640),
    ]


def test_4_by_3_keeps_its_aspect():
    assert sizes(choose_ladder(1440, 1080)) == [
        ("1080p", 1440, 1080),
        ("720p", 960, 720),
        ("480p", 640, 480),
        ("360p", 480, 360),
    ]


def test_custom_heights_get_scaled_bitrates():
    ladder = choose_ladder(2560, 1440, heights=(1440, 1080, 540))
    assert [r.name for r in ladder] == ["1440p", "1080p", "540p"]
    rates = [r.video_bitrate for r in ladder]
    assert rates == sorted(rates, reverse=True)
    assert 5_000_000 < rates[0] < 12_000_000


@pytest.mark.parametrize(
    ("width", "height"),
    [(1920, 1080), (1918, 1078), (1080, 1920), (3840, 1600), (720, 1280), (1366, 768), (853, 480),
     (2000, 2000), (1921, 1081), (500, 2000), (4096, 2160), (362, 999)],
)  # fmt: skip
def test_even_sizes_kept_aspect_and_within_the_source(width, height):
    ladder = choose_ladder(width, height)
    assert ladder
    for rung in ladder:
        assert rung.width % 2 == 0 and rung.height % 2 == 0
        assert rung.width <= width and rung.height <= height
        assert (
            abs(rung.width / rung.height - width / height)
            < 0.01 * (width / height) + 2 / rung.height
        )
    assert len({r.name for r in ladder}) == len(ladder)


def test_default_heights():
    assert DEFAULT_HEIGHTS == (1080, 720, 480, 360)


@pytest.mark.parametrize(("width", "height"), [(0, 1080), (1920, 0), (-1, 5)])
def test_bad_sizes(width, height):
    with pytest.raises(ValueError):
        choose_ladder(width, height)


@pytest.mark.parametrize(
    ("source_width", "expected"),
    [
        (4000, [320, 640, 1280, 2048]),
        (2048, [320, 640, 1280, 2048]),
        (1000, [320, 640, 1000]),  # capped, not dropped: the full size stands in for 1280
        (640, [320, 640]),
        (320, [320]),
        (200, [200]),  # smaller than every width: one rendition at its own size
        (1, [1]),
    ],
)
def test_image_widths_are_capped_at_the_source(source_width, expected):
    assert image_widths(source_width) == expected


def test_image_widths_need_a_width():
    with pytest.raises(ValueError):
        image_widths(0)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ((4000, 3000), (256, 256)),
        ((700, 1600), (256, 256)),
        ((256, 256), (256, 256)),
        ((200, 150), (150, 150)),  # cropped to a square, not enlarged
        ((150, 200), (150, 150)),
        ((400, 100), (100, 100)),
        ((1, 1), (1, 1)),
    ],
)
def test_thumbnail_is_a_square_never_larger_than_the_source(source, expected):
    assert thumbnail_size(*source) == expected


@pytest.mark.parametrize("source", [(0, 100), (100, 0)])
def test_thumbnail_needs_a_size(source):
    with pytest.raises(ValueError):
        thumbnail_size(*source)

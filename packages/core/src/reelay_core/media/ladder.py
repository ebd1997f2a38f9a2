"""The rendition ladders: which sizes (and for video, bitrates) a source is encoded to."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Rung:
    name: str  # the short side, e.g. "720p" (also for portrait video)
    width: int
    height: int
    video_bitrate: int  # bits/s, the average the encoder aims at
    maxrate: int  # bits/s, the VBV cap that keeps segments streamable
    bufsize: int  # bits
    audio_bitrate: int  # bits/s


DEFAULT_HEIGHTS = (1080, 720, 480, 360)

# (video, audio) bits/s by short side, for 16:9 at up to 30 fps.
_BITRATES = {
    1080: (5_000_000, 128_000),
    720: (2_800_000, 128_000),
    480: (1_400_000, 96_000),
    360: (800_000, 96_000),
}
MAXRATE_FACTOR = 1.07
BUFSIZE_FACTOR = 1.5

IMAGE_WIDTHS = (320, 640, 1280, 2048)
THUMBNAIL_SIDE = 256


def choose_ladder(
    source_width: int, source_height: int, heights: tuple[int, ...] = DEFAULT_HEIGHTS
) -> list[Rung]:
    """Rungs from largest to smallest, never above the source, with its aspect and even sizes.

    The dimensions are display dimensions (after rotation). "Height" means the short side, so a
    portrait 1080x1920 source gets 1080p = 1080x1920. A source smaller than every rung gets
    one rung at its own size.
    """
    if source_width <= 0 or source_height <= 0:
        raise ValueError("source dimensions must be positive")
    short, long = sorted((source_width, source_height))
    portrait = source_height > source_width
    sides = sorted({h for h in heights if h <= short}, reverse=True) or [_even(short, short)]
    rungs = []
    for side in sides:
        long_side = _even(long * side / short, long)
        width, height = (side, long_side) if portrait else (long_side, side)
        video, audio = _bitrates(side, width * height)
        rungs.append(
            Rung(
                name=f"{side}p",
                width=width,
                height=height,
                video_bitrate=video,
                maxrate=round(video * MAXRATE_FACTOR),
                bufsize=round(video * BUFSIZE_FACTOR),
                audio_bitrate=audio,
            )
        )
    return rungs


def _even(value: float, limit: int) -> int:
    # H.264 with 4:2:0 chroma needs even sizes; rounding must not go above the source.
    even = round(value / 2) * 2
    if even > limit:
        even -= 2
    return max(2, even)


def _bitrates(side: int, pixels: int) -> tuple[int, int]:
    if side in _BITRATES:
        return _BITRATES[side]
    # Other sizes: scale from 720p by pixel count; bits per pixel fall as the picture grows.
    video = 2_800_000 * (pixels / (1280 * 720)) ** 0.75
    audio = 128_000 if side >= 720 else 96_000
    return max(200_000, round(video, -3)), audio


def image_widths(source_width: int) -> list[int]:
    """IMAGE_WIDTHS, each capped at the source width: never upscaled, no duplicates.

    A 1000-px image gets 320, 640 and 1000 (its full size stands in for the larger ones).
    """
    if source_width <= 0:
        raise ValueError("source width must be positive")
    return sorted({min(width, source_width) for width in IMAGE_WIDTHS})


def thumbnail_size(source_width: int, source_height: int) -> tuple[int, int]:
    """A square cropped from the centre: THUMBNAIL_SIDE, or the short side of a smaller image.

    Like every rendition it is never larger than the source: 200x150 gets 150x150.
    """
    if source_width <= 0 or source_height <= 0:
        raise ValueError("source dimensions must be positive")
    side = min(THUMBNAIL_SIDE, source_width, source_height)
    return side, side

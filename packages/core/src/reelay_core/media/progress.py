"""Parsing of FFmpeg's `-progress` output, percent/ETA, and throttling of progress events."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressSample:
    out_time_s: float  # how far into the source the outputs have got
    speed: float | None  # x real time; None while FFmpeg reports N/A
    frame: int | None
    done: bool  # the last block (progress=end)


class ProgressParser:
    """Feed it lines of `-progress pipe:1`; a block of key=value lines ends with `progress=`."""

    def __init__(self) -> None:
        self._block: dict[str, str] = {}

    def feed(self, line: str) -> ProgressSample | None:
        key, sep, value = line.strip().partition("=")
        if not sep:
            return None
        key, value = key.strip(), value.strip()
        if key != "progress":
            self._block[key] = value
            return None
        block, self._block = self._block, {}
        return ProgressSample(
            out_time_s=_out_time(block),
            speed=_number(block.get("speed", "").removesuffix("x")),
            frame=_whole(block.get("frame")),
            done=value == "end",
        )


def percent(out_time_s: float, duration: float) -> float:
    if duration <= 0:
        return 0.0
    return min(100.0, max(0.0, out_time_s * 100.0 / duration))


def eta_seconds(out_time_s: float, duration: float, speed: float | None) -> int | None:
    if not speed or speed <= 0 or duration <= 0:
        return None
    return round(max(0.0, duration - out_time_s) / speed)


class ProgressThrottle:
    """Decides which progress steps become events, and keeps the reported percent monotonic.

    A step is emitted on a change of at least `min_delta` points, or on any rise once
    `min_interval` seconds have passed; 100 is always emitted (once). Use it as
    `if throttle.should_emit(p, now): publish(throttle.monotonic(p))`.
    """

    def __init__(self, min_interval: float = 0.5, min_delta: float = 1.0) -> None:
        self.min_interval = min_interval
        self.min_delta = min_delta
        self._reported: float | None = None
        self._reported_at = 0.0

    def monotonic(self, percent: float) -> float:
        """Never lower than what was already reported (FFmpeg's out_time can step back)."""
        return percent if self._reported is None else max(percent, self._reported)

    def should_emit(self, percent: float, now: float) -> bool:
        value = self.monotonic(min(100.0, percent))
        last = self._reported
        emit = (
            last is None
            or (value >= 100.0 and last < 100.0)
            or value - last >= self.min_delta
            or (value > last and now - self._reported_at >= self.min_interval)
        )
        if emit:
            self._reported, self._reported_at = value, now
        return emit


def _out_time(block: dict[str, str]) -> float:
    # out_time_us is exact; out_time_ms is also microseconds (an old FFmpeg misnomer).
    for key in ("out_time_us", "out_time_ms"):
        micros = _number(block.get(key))
        if micros is not None:
            return max(0.0, micros / 1_000_000)
    return max(0.0, _clock(block.get("out_time")) or 0.0)


def _clock(value: str | None) -> float | None:
    """'HH:MM:SS.ffffff' (may start with '-') to seconds."""
    if not value:
        return None
    sign = -1.0 if value.startswith("-") else 1.0
    try:
        hours, minutes, seconds = value.lstrip("-").split(":")
        return sign * (int(hours) * 3600 + int(minutes) * 60 + float(seconds))
    except ValueError:
        return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _whole(value: str | None) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None

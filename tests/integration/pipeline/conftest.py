"""Tiny sources (2 s, 10 fps, from the root `media_factory`) and fake FFmpeg scripts."""

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.media import FFMPEG, FFPROBE, MediaFactory

FPS = 10


@pytest.fixture(scope="session")
def ffmpeg_bin() -> str:
    return str(FFMPEG)


@pytest.fixture(scope="session")
def ffprobe_bin() -> str:
    return str(FFPROBE)


@pytest.fixture(scope="session")
def source_1080(media_factory: MediaFactory) -> Path:
    return media_factory.video(width=1920, height=1080, fps=FPS)


@pytest.fixture(scope="session")
def source_rotated(media_factory: MediaFactory) -> Path:
    return media_factory.rotated(fps=FPS)


@pytest.fixture(scope="session")
def source_silent(media_factory: MediaFactory) -> Path:
    return media_factory.video(width=854, height=480, fps=FPS, audio=False)


@pytest.fixture
def fake_ffmpeg(tmp_path: Path) -> Callable[[str], str]:
    """Write a /bin/sh script standing in for FFmpeg; returns its path."""

    def write(body: str) -> str:
        script = tmp_path / "fake-ffmpeg.sh"
        script.write_text("#!/bin/sh\n" + body)
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return str(script)

    return write

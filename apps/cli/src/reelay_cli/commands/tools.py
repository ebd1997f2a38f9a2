"""reelay ffmpeg / reelay ffprobe: the FFmpeg binaries the stack bundles, run as the worker runs
them, for looking at sources and outputs by hand.

The bundled static build crashes (exit 139) on any MPEG-TS input, HLS segments included,
unless `GCONV_PATH` points nowhere: its old glibc cannot load the host's iconv modules. These
commands set it; every argument goes to the binary unchanged, and its exit code is ours.
"""

from __future__ import annotations

import os
import sys

import typer

# Everything after the command name is the binary's, `--help` and `-h` included.
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}

NOT_BUNDLED = (
    "`reelay {name}` runs the FFmpeg that comes with the reelay stack (the reelay-stack "
    "package), which is not installed here; use your own {name}, with GCONV_PATH=/nonexistent "
    "if it is a static build"
)


def run_bundled(name: str, args: list[str]) -> None:
    try:
        from reelay_core.binaries import MissingBinary, binary_env, ffmpeg_path, ffprobe_path
        from reelay_core.settings import Settings
    except ModuleNotFoundError:
        print(f"reelay: {NOT_BUNDLED.format(name=name)}", file=sys.stderr)
        raise typer.Exit(1) from None
    find = ffmpeg_path if name == "ffmpeg" else ffprobe_path
    try:
        path = find(Settings())
    except MissingBinary as exc:
        print(f"reelay: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    sys.stdout.flush()
    sys.stderr.flush()
    # Replaces this process: signals, stdin and the exit code are the binary's own.
    os.execve(path, [name, *args], binary_env())


def ffmpeg(context: typer.Context) -> None:
    """Run the bundled ffmpeg with the environment it needs (arguments go to it unchanged)."""
    run_bundled("ffmpeg", context.args)


def ffprobe(context: typer.Context) -> None:
    """Run the bundled ffprobe with the environment it needs (arguments go to it unchanged)."""
    run_bundled("ffprobe", context.args)

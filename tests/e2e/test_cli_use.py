"""The `reelay` command as a new user meets it: refusals that name the file, `get` per kind,
the server from $REELAY_SERVER, and the bundled FFmpeg tools."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.cli_runner import Cli
from tests.support.media import FFPROBE, MediaFactory
from tests.support.processes import AppProcesses

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"


@pytest.fixture
def user(apps: AppProcesses, clean_state: None, tmp_path: Path) -> Cli:
    """Registered with the server named only by $REELAY_SERVER (a non-default port)."""
    cli = Cli(tmp_path / "config", server=apps.base_url)
    assert not apps.base_url.endswith(":8000")
    cli.ok("register", "--email", "new@example.com", "--password", PASSWORD)
    return cli


def test_an_empty_file_is_refused_by_name_before_anything_is_sent(
    user: Cli, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    refused = user.run("upload", empty)
    assert refused.code == 1
    assert (
        refused.reason
        == f"reelay: {empty}: the file is empty (0 bytes); there is nothing to upload"
    )
    assert user.ok("ls", "--json").json() == []


def test_a_refusal_names_the_file(user: Cli, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video")
    refused = user.run("upload", notes)
    assert refused.code == 1
    assert refused.reason.startswith(f"reelay: {notes}: ") and "(HTTP 415)" in refused.reason


def test_get_shows_what_applies_to_the_kind(user: Cli, media_factory: MediaFactory) -> None:
    image = user.ok("upload", media_factory.image(width=640, height=480), "--wait", "--json")
    shown = user.ok("get", image.json()["id"]).stdout
    assert "source: width=640, height=480" in shown
    for absent in ("None", "duration", "eta_seconds", "stage", "codec", "playable"):
        assert absent not in shown, shown

    clip = user.ok("upload", media_factory.video(seconds=2), "--wait", "--json").json()
    shown = user.ok("get", clip["id"]).stdout
    assert "duration=" in shown and "video_codec=h264" in shown and "None" not in shown
    assert "output: mp4 (mp4, 320x240)" in shown


def test_ffprobe_reads_an_mpeg_ts_file_that_the_bare_binary_cannot(
    tmp_path: Path, media_factory: MediaFactory
) -> None:
    cli = Cli(tmp_path / "config")
    segment = tmp_path / "segment.ts"
    cli.ok("ffmpeg", "-v", "error", "-i", media_factory.video(seconds=2), "-c", "copy", segment)
    probed = cli.ok(
        "ffprobe", "-v", "error", "-show_entries", "format=format_name", "-of", "csv=p=0", segment
    )
    assert probed.stdout.strip() == "mpegts"
    # What it spares the user: the same binary without the environment crashes on it.
    env = {k: v for k, v in os.environ.items() if k != "GCONV_PATH"}
    bare = subprocess.run([str(FFPROBE), "-v", "error", str(segment)], env=env, check=False)
    assert bare.returncode != 0
    # The exit code is the binary's own.
    assert cli.run("ffprobe", "-v", "error", tmp_path / "missing.mp4").code == 1

"""The README's walkthroughs, run as written against a stack on a non-default port: the curl
session with the API named once (`REELAY_SERVER`), then the `reelay` session."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.cli_runner import REELAY
from tests.support.media import probe
from tests.support.processes import AppProcesses

pytestmark = pytest.mark.e2e
README = Path(__file__).resolve().parents[2] / "README.md"
SERVER_LINE = "export REELAY_SERVER=http://127.0.0.1:8000"


def block_after(heading: str, fence: str) -> str:
    """The first fenced block of this kind after the heading."""
    text = README.read_text()
    after = text[text.index(heading) :]
    match = re.search(rf"```{fence}\n(.*?)```", after, re.S)
    assert match, f"no {fence} block after {heading}"
    return match.group(1)


def shell(tmp_path: Path, server: str) -> dict[str, str]:
    """A shell in a fresh directory where `uv run reelay` is this checkout's reelay."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    uv = bin_dir / "uv"
    # `uv run X` in the checkout is X from its environment; the walkthrough's files stay here.
    uv.write_text(f'#!/bin/sh\n[ "$1" = run ] && shift\nexec {REELAY.parent}/"$@"\n')
    uv.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELAY_")}
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    env["REELAY_CONFIG_DIR"] = str(tmp_path / "config")
    env["REELAY_PASSWORD"] = "a long password"
    return env


def bash(
    script: str, cwd: Path, env: dict[str, str], *, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run `script` as a reader pasting it would, but stopping at the first failing command."""
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_readme_walkthroughs_work_on_another_port(
    apps: AppProcesses, clean_state: None, tmp_path: Path
) -> None:
    assert not apps.base_url.endswith(":8000")
    env = shell(tmp_path, apps.base_url)

    # The curl session; its first line names the API, as the README says to.
    curl = block_after("## Try it with curl", "sh")
    assert SERVER_LINE in curl
    script = curl.replace(SERVER_LINE, f"export REELAY_SERVER={apps.base_url}")
    done = bash(script, tmp_path, env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "event: completed" in done.stdout
    assert "#EXTM3U" in done.stdout
    assert probe(tmp_path / "out.mp4")["format"]["duration"]

    # The reelay session, in the same shell state: REELAY_SERVER still names the API.
    env["REELAY_SERVER"] = apps.base_url
    commands = [
        line.removeprefix("$ ").split("#")[0].strip()
        for line in block_after("## The `reelay` command line", "console").splitlines()
        if line.startswith("$ ")
    ]
    media_id = None
    for command in commands:
        if media_id:
            command = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", media_id, command)
        ran = bash(command, tmp_path, env, timeout=300)
        assert ran.returncode == 0, f"{command}: {ran.stderr}"
        if " upload " in command:
            media_id = ran.stdout.split()[0]
    assert (tmp_path / "clip-mp4.mp4").exists() and (tmp_path / "clip.jpg").exists()

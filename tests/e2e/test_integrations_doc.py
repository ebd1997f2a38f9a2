"""docs/integrations.md's curl loop, run as written against the real stack: a key made from a
login, an upload on behalf of a user, found by its external_id, then a viewer token following
its events, reading its playlist and downloading it."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.client import register
from tests.support.media import MediaFactory
from tests.support.processes import AppProcesses
from tests.support.waits import JOB_DEADLINE

pytestmark = pytest.mark.e2e
DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"
MARKER = "<!-- integration-loop -->"
DOC_SERVER = "http://127.0.0.1:8000"


def loop_blocks() -> list[str]:
    """The shell blocks marked as the loop, in the order the page gives them."""
    blocks = []
    for part in DOC.read_text().split(MARKER)[1:]:
        fenced = part.split("```", 2)[1]
        assert fenced.startswith("sh\n"), f"a marked block is not shell: {fenced[:40]!r}"
        blocks.append(fenced.removeprefix("sh\n"))
    assert len(blocks) >= 5, "docs/integrations.md lost its marked curl loop"
    return blocks


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq")), reason="the loop needs curl and jq"
)
async def test_the_curl_loop_runs_as_written(
    api: httpx.AsyncClient, apps: AppProcesses, media_factory: MediaFactory, tmp_path: Path
) -> None:
    await register(api, email="you@example.com", password="correct horse")
    shutil.copy(media_factory.video(width=320, height=240, seconds=2), tmp_path / "clip.mp4")
    script = "set -euo pipefail\n" + "\n".join(loop_blocks()).replace(DOC_SERVER, apps.base_url)
    done = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=JOB_DEADLINE,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert '"key":"rly_' in out.replace(" ", ""), out
    assert '"metadata":{"post":"7"}' in out, out
    assert "event: completed" in out, out  # the stream, followed with the token, ended
    assert "m3u8?token=" in out, out  # the master playlist carries the token on
    assert "\n307 http" in out, out  # the download redirects to storage

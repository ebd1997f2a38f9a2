"""A killed worker's temp dirs are removed by the next worker; a live worker's never are."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from reelay_worker.workdirs import Workdir, remove_orphans

HOLD_A_WORKDIR = """
import sys, tempfile
tempfile.tempdir = sys.argv[1]
from reelay_worker.workdirs import Workdir
print(Workdir.create("media-of-a-killed-worker").path, flush=True)
sys.stdin.read()  # hold it until killed
"""


@pytest.fixture
def tmp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_killed_workers_dir_goes_and_a_live_ones_stays(tmp_root: Path) -> None:
    live = Workdir.create("media-of-this-worker")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_WORKDIR, str(tmp_root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    orphan = Path(holder.stdout.readline().strip())
    assert orphan.is_dir()
    assert remove_orphans(tmp_root) == 0  # its worker still runs

    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert remove_orphans(tmp_root) == 1
    assert not orphan.exists() and live.path.is_dir()

    live.remove()
    assert not live.path.exists()


def test_other_entries_of_the_temp_dir_are_left_alone(tmp_root: Path) -> None:
    (tmp_root / "reelay-not-a-job").mkdir()
    (tmp_root / "reelay-a-file").write_text("x")
    assert remove_orphans(tmp_root) == 0
    assert (tmp_root / "reelay-not-a-job").is_dir() and (tmp_root / "reelay-a-file").exists()

"""The chaos run, shortened: 4 videos through one fault of each kind on a stack of its own.

bench/chaos.py does the checking (all completed, outputs exactly once, attempts explained by
requeues, every event heard once in order, no FFmpeg left); its exit status is the verdict.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CHAOS = Path(__file__).parents[2] / "bench" / "chaos.py"


def test_a_short_chaos_run_loses_nothing() -> None:
    run = subprocess.run(
        # Videos long enough that every fault lands while they are being processed.
        [sys.executable, str(CHAOS), *"--videos 4 --seconds 20 40 --kills 2 --every 2".split()],
        capture_output=True,
        text=True,
        timeout=900,  # only stops a hung run; the script's own deadline comes first
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "PASSED" in run.stdout

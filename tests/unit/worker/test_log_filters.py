"""The worker's log drops arq's routine lines (health, the lease sweeper) and keeps the rest."""

from __future__ import annotations

import logging

import pytest
from reelay_core import jobs
from reelay_worker.log_filters import QuietRoutine

SWEEP_REF = f"cron:{jobs.SWEEP_LEASES}:1732924573000:cron:{jobs.SWEEP_LEASES}"
TRANSCODE_REF = f"4f1c2a:{jobs.TRANSCODE}"


def record(level: int, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("arq.worker", level, __file__, 1, msg, args, None)


# The records as arq 0.28 writes them (arq/worker.py).
DROPPED = [
    record(logging.INFO, "recording health: %s", "Nov-30 00:16:13 j_complete=3 j_failed=1"),
    record(logging.INFO, "%6.2fs → %s(%s)%s", 0.01, SWEEP_REF, "", ""),
    record(logging.INFO, "%6.2fs ← %s ● %s", 0.02, SWEEP_REF, ""),
]
KEPT = [
    record(
        logging.INFO,
        "Starting worker for %d functions: %s",
        2,
        f"{jobs.TRANSCODE}, cron:{jobs.SWEEP_LEASES}",
    ),
    record(logging.INFO, "%6.2fs → %s(%s)%s", 0.01, TRANSCODE_REF, "'m1', 1", ""),
    record(logging.INFO, "%6.2fs ← %s ● %s", 3.2, TRANSCODE_REF, ""),
    record(logging.ERROR, "%6.2fs ! %s failed, %s: %s", 0.1, SWEEP_REF, "OSError", "down"),
]


@pytest.mark.parametrize("line", DROPPED, ids=lambda r: r.getMessage()[:40])
def test_routine_lines_are_dropped(line: logging.LogRecord) -> None:
    assert not QuietRoutine().filter(line)


@pytest.mark.parametrize("line", KEPT, ids=lambda r: r.getMessage()[:40])
def test_other_lines_are_kept(line: logging.LogRecord) -> None:
    assert QuietRoutine().filter(line)

"""A job's temp dir, locked while its worker lives, so a worker that starts can remove the dirs
a killed worker left behind (SIGKILL runs no clean-up).

The lock is an flock on a file inside the dir: the kernel drops it when its process dies,
whatever the PID is reused for, and workers sharing a TMPDIR never remove each other's.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "reelay-"  # tests look for reelay-{media_id}-
LOCK = ".owner"


class Workdir:
    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self._lock_fd = lock_fd

    @classmethod
    def create(cls, media_id: str) -> Workdir:
        path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{media_id}-"))
        try:
            fd = os.open(path / LOCK, os.O_CREAT | os.O_RDWR, 0o600)
        except OSError:
            shutil.rmtree(path, ignore_errors=True)
            raise
        fcntl.flock(fd, fcntl.LOCK_EX)  # a fresh file nobody else holds: never waits
        return cls(path, fd)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock_fd)


def remove_orphans(root: Path | None = None) -> int:
    """Remove the job dirs whose worker is gone; returns how many."""
    removed = 0
    for path in (root or Path(tempfile.gettempdir())).glob(f"{PREFIX}*"):
        try:
            fd = os.open(path / LOCK, os.O_RDWR)
        except OSError:  # not a job dir, or one being created right now
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its worker is alive
            continue
        else:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        finally:
            os.close(fd)
    return removed

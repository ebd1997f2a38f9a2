"""One `reelay up` per data directory: a lock file that names the process holding it.

flock(2) belongs to the open file, so the kernel releases it when its holder exits however it
exits: a lock left by a killed run blocks nothing. The descriptor is not inherited by the
servers and apps started later (Python's default), so only this process holds it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from reelay_stack.errors import StackError


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "reelay-up.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            # Empty for the moment between the other process's flock and its write.
            who = f"reelay up (pid {holder})" if holder else "reelay up"
            raise StackError(
                f"data directory {self.path.parent} is in use by another {who}; stop it, or "
                "choose another directory with --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            # Not unlinked: a process that opened the file meanwhile would lock a deleted inode.
            os.close(self._fd)
            self._fd = None

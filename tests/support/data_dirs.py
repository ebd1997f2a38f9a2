"""Data directories for the embedded stacks that tests start.

As root, the embedded PostgreSQL runs as a user of its own that must be able to reach its data,
and `reelay up` changes no directory above the data dir: pytest's tmp_path lies under a 0700
directory, so these are made directly in the system's temp dir (world-traversable) instead.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def reachable_data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="reelay-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)

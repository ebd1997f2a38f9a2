"""The API and worker as child processes whose output is streamed with a prefix per process."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress

from reelay_stack.servers import stop_process_group

LineSink = Callable[[str, str], None]


def print_line(name: str, line: str) -> None:
    sys.stdout.write(f"{name:>6} | {line}")
    sys.stdout.flush()


class ChildProcess:
    """A child; `held`: one run through reelay_stack.held, which waits for `release()`."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        sink: LineSink = print_line,
        *,
        held: bool = False,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.sink = sink
        self.held = held
        self.process: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.PIPE if self.held else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Own process group: Ctrl-C reaches only us, and we stop children in order.
            start_new_session=True,
        )
        self._pump = threading.Thread(target=self._pump_lines, daemon=True)
        self._pump.start()

    def release(self) -> None:
        assert self.process is not None and self.process.stdin is not None, "not held"
        # Broken pipe: it exited while loading, which the caller learns from exited().
        with suppress(BrokenPipeError):
            self.process.stdin.write(b"start\n")
            self.process.stdin.close()

    def _pump_lines(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for raw in self.process.stdout:
            self.sink(self.name, raw.decode("utf-8", "replace"))

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, grace: float = 15) -> None:
        if self.process is not None:
            stop_process_group(self.process, grace=grace)
        if self._pump is not None:
            self._pump.join(timeout=2)

"""Run the installed `reelay` console script as a user would, with its own config dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REELAY = Path(sys.executable).parent / "reelay"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def reason(self) -> str:
        """The last stderr line: where a failing command says why."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else ""


@dataclass
class Cli:
    config_dir: Path
    server: str | None = None  # as $REELAY_SERVER
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REELAY_")}
        env.update({"REELAY_CONFIG_DIR": str(self.config_dir), "COLUMNS": "120", **self.extra_env})
        if self.server:
            env["REELAY_SERVER"] = self.server
        return env

    def run(self, *args: str | Path, timeout: float = 120, input: str | None = None) -> Result:
        done = subprocess.run(
            [str(REELAY), *map(str, args)],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str | Path, timeout: float = 120) -> Result:
        result = self.run(*args, timeout=timeout)
        assert result.code == 0, (
            f"reelay {' '.join(map(str, args))} exited {result.code}:\n{result.stderr}"
        )
        return result

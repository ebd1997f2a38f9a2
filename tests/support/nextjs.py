"""The Next.js example (examples/nextjs) run as its README says: npm ci, next build, next start.

It is built in a copy, so a test never touches the node_modules or .next of someone working on
the example, and the build runs in the background while the test starts its stack.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from reelay_stack.servers import stop_process_group

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "nextjs"
# Next.js 15's floor; Debian 12's own nodejs package is 18.19.
MIN_NODE = (18, 18)
BUILD_SECONDS = 600
TYPES = "lib/reelay-api.d.ts"
# Only what node and npm need: the test's REELAY_* settings are not the example's.
PASSED_ON = ("PATH", "HOME", "TMPDIR", "LANG", "npm_config_cache", "npm_config_registry")


class RegistryUnreachable(RuntimeError):
    """`npm ci` could not download the example's packages: no network, not a broken example."""


def missing_node() -> str | None:
    """Why the example cannot run here, or None."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "no node/npm on PATH (`apt-get install nodejs npm`; .ci/run installs them)"
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    found = re.match(r"v(\d+)\.(\d+)", version)
    if found is None or (int(found[1]), int(found[2])) < MIN_NODE:
        return f"node {version or '?'} is older than Next.js 15 needs (18.18)"
    return None


class NextExample:
    def __init__(self, work_dir: Path, log_dir: Path) -> None:
        self.dir = work_dir / "nextjs"
        self.log_dir = log_dir
        self.build: subprocess.Popen[bytes] | None = None
        self.server: subprocess.Popen[bytes] | None = None

    def start_build(self) -> None:
        shutil.copytree(
            EXAMPLE_DIR,
            self.dir,
            ignore=shutil.ignore_patterns("node_modules", ".next", "next-env.d.ts", ".env*"),
        )
        self.build = self._spawn(
            "build", "npm ci --prefer-offline --no-audit --no-fund && npm run build", {}
        )

    def wait_built(self) -> None:
        assert self.build is not None, "start_build first"
        if self.build.wait(timeout=BUILD_SECONDS) == 0:
            return
        log = self.log("build")
        if re.search(r"\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH)\b", log):
            raise RegistryUnreachable(f"npm ci could not reach the npm registry: {log[-500:]}")
        raise RuntimeError(f"npm ci && next build failed:\n{log[-3000:]}")

    def set_up(self, reelay_url: str, app_url: str) -> dict[str, str]:
        """`npm run setup`: an account, a key and a webhook, written to .env.local; its values."""
        passed = {key: os.environ[key] for key in PASSED_ON if key in os.environ}
        env = {**passed, "REELAY_URL": reelay_url, "APP_URL": app_url}
        done = subprocess.run(
            ["npm", "run", "setup"], cwd=self.dir, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        lines = (self.dir / ".env.local").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)

    def generated_types(self, reelay_url: str) -> str:
        """`npm run gen:types` against this server, in the copy: what the file would be now."""
        passed = {key: os.environ[key] for key in PASSED_ON if key in os.environ}
        done = subprocess.run(
            ["npm", "run", "gen:types"],
            cwd=self.dir,
            env={**passed, "REELAY_URL": reelay_url},
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return (self.dir / TYPES).read_text()

    def serve(self, port: int) -> None:
        self.server = self._spawn(
            "server", f"exec npx next start --hostname 127.0.0.1 --port {port}", {}
        )

    def exited(self) -> bool:
        return self.server is not None and self.server.poll() is not None

    def log(self, name: str) -> str:
        path = self.log_dir / f"nextjs-{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for process in (self.server, self.build):
            if process is not None:
                stop_process_group(process, grace=5)

    def _spawn(self, name: str, command: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        # The example's settings come from the .env.local that `set_up` wrote, as in the README.
        passed = {key: os.environ[key] for key in PASSED_ON if key in os.environ}
        with open(self.log_dir / f"nextjs-{name}.log", "ab") as log:
            return subprocess.Popen(
                ["sh", "-c", command],
                cwd=self.dir,
                env={**passed, "NEXT_TELEMETRY_DISABLED": "1", **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own process group: npm and npx start children that must stop with it.
                start_new_session=True,
            )

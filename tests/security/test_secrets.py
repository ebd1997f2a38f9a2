"""Published secrets, attacked: the attacker has read this repository (the compose file, the
docs, .env.example) and tries every secret in it against a deployment.

Nothing published may be a secret a deployment runs with: compose has no default secrets and
refuses to start without them, and the API refuses a JWT secret that is short or published.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
from pydantic import ValidationError
from reelay_api.app import create_app
from reelay_core.settings import MIN_JWT_SECRET_BYTES, PUBLISHED_JWT_SECRETS, Settings
from reelay_stack import secrets as stack_secrets

from tests.support import compose
from tests.support.client import register

ROOT = compose.ROOT
# Where an operator copies configuration from.
PUBLISHED_FILES = [
    ROOT / "README.md",
    ROOT / ".env.example",
    compose.COMPOSE_FILE,
    *sorted((ROOT / "docs").rglob("*.md")),
    *sorted(p for p in (ROOT / "infra").rglob("*") if p.is_file()),
]
# A value assigned to the JWT secret in a doc or config (`NAME=value`, `NAME: value`).
JWT_SECRET_EXAMPLE = re.compile(r"REELAY_JWT_SECRET[ \t]*[=:][ \t]*[\"']?([^\s\"'`]+)")
# Names of environment variables that carry a credential.
CREDENTIAL_NAME = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|_AUTH$")
HOW_TO_GENERATE = "openssl rand -hex 32"


def published_jwt_secrets() -> set[str]:
    found = set(PUBLISHED_JWT_SECRETS)
    for path in PUBLISHED_FILES:
        for value in JWT_SECRET_EXAMPLE.findall(path.read_text(errors="replace")):
            if not value.startswith(("$", "<")):  # an interpolation or a placeholder
                found.add(value)
    return found


# -- the API's JWT secret ---------------------------------------------------------------------


@pytest.mark.parametrize("secret", sorted(published_jwt_secrets()))
def test_settings_refuse_a_published_jwt_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(HOW_TO_GENERATE)):
        Settings(_env_file=None, jwt_secret=secret)


@pytest.mark.parametrize(
    "secret",
    ["x" * (MIN_JWT_SECRET_BYTES - 1), "é" * (MIN_JWT_SECRET_BYTES // 2 - 1), "hunter2-hunter2"],
)
def test_settings_refuse_a_short_jwt_secret(secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELAY_JWT_SECRET", secret)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    message = str(refused.value)
    assert f"fewer than {MIN_JWT_SECRET_BYTES}" in message and HOW_TO_GENERATE in message
    assert secret not in message, "the refusal must not print the secret into a log"


def test_a_long_enough_secret_and_the_embedded_stacks_are_accepted(tmp_path: Path) -> None:
    assert Settings(_env_file=None, jwt_secret="é" * (MIN_JWT_SECRET_BYTES // 2)).jwt_secret
    generated = stack_secrets.load_or_create(tmp_path).jwt_secret
    assert Settings(_env_file=None, jwt_secret=generated).jwt_secret == generated


def test_the_api_refuses_to_start_with_a_weak_secret() -> None:
    """Settings copied with model_copy (as `reelay up` and tests make them) skip validation;
    building the app checks the secret again."""
    base = Settings(_env_file=None, jwt_secret="k" * MIN_JWT_SECRET_BYTES)
    create_app(base)
    for weak, refusal in [
        (next(iter(PUBLISHED_JWT_SECRETS)), "published"),
        ("short", "fewer than"),
        (None, "not set"),
    ]:
        with pytest.raises(ValueError, match=refusal):
            create_app(base.model_copy(update={"jwt_secret": weak}))


async def test_a_token_signed_with_a_published_secret_is_refused(api: httpx.AsyncClient) -> None:
    account = await register(api)
    assert (await api.get("/auth/me", headers=account.headers)).status_code == 200
    now = int(time.time())
    claims = {"sub": account.id, "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex}
    for secret in sorted(published_jwt_secrets()):
        forged = jwt.encode(claims, secret, algorithm="HS256")
        answer = await api.get("/auth/me", headers={"Authorization": f"Bearer {forged}"})
        assert answer.status_code == 401, f"a token signed with {secret!r} was accepted"


# -- docker-compose.yml ------------------------------------------------------------------------


def credentials(data: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    """Every credential the compose file hands a service, interpolated with `env`."""
    found: dict[str, str] = {}
    for name, service in data["services"].items():
        for key, value in compose.environment(service, env).items():
            if CREDENTIAL_NAME.search(key):
                found[f"{name}.{key}"] = value
            password = urlsplit(value).password if "://" in value else None
            if password is not None:
                found[f"{name}.{key} (URL password)"] = password
        argv = compose.command_argv(service.get("command") or [], env)
        for i, arg in enumerate(argv[:-1]):
            if arg == "--requirepass":
                found[f"{name} --requirepass"] = argv[i + 1]
    return found


def test_compose_gives_no_credential_that_is_not_the_operators() -> None:
    env = compose.operator_env()
    given = credentials(compose.load(), env)
    assert {"postgres.POSTGRES_PASSWORD", "valkey --requirepass", "api.REELAY_JWT_SECRET"} <= set(
        given
    ), "the credential scan found too little to mean anything"
    literal = {where: value for where, value in given.items() if value not in env.values()}
    assert not literal, f"credentials written into docker-compose.yml: {literal}"
    text = compose.COMPOSE_FILE.read_text()
    for secret in PUBLISHED_JWT_SECRETS:
        assert secret not in text


def test_compose_refuses_to_start_without_each_secret() -> None:
    data = compose.load()
    full = compose.operator_env()
    assert credentials(data, full)
    for missing in full:
        env = {name: value for name, value in full.items() if name != missing} | {missing: ""}
        with pytest.raises(compose.MissingVariable) as refused:
            credentials(data, env)
        assert refused.value.name == missing
        assert "openssl" in refused.value.message and ".env.example" in refused.value.message
    for reference in compose.references(compose.COMPOSE_FILE.read_text()):
        if reference["name"] in full:
            assert reference["op"] == ":?", f"{reference[0]} must refuse, not fall back"
            # Some Compose releases read a `-` anywhere after the name as `${NAME-default}`:
            # they would start with the rest of the message as the password.
            assert "-" not in reference["arg"], f"{reference[0]}: no `-` in the message"


def test_no_s3_identity_is_committed() -> None:
    for path in ROOT.joinpath("infra").rglob("*"):
        if path.is_file():
            assert "secretKey" not in path.read_text(errors="replace"), path


def generation_commands() -> dict[Path, str]:
    found = {}
    for path in (compose.COMPOSE_FILE, compose.ENV_EXAMPLE, ROOT / "README.md"):
        lines = [
            line.lstrip("# ").strip()
            for line in path.read_text().splitlines()
            if HOW_TO_GENERATE in line and "umask" in line
        ]
        assert len(lines) == 1, f"{path.name} should give the generation command once"
        found[path] = lines[0]
    return found


def test_the_documented_generation_command_makes_a_private_env_that_compose_accepts(
    tmp_path: Path,
) -> None:
    commands = generation_commands()
    assert len(set(commands.values())) == 1, f"the files give different commands: {commands}"
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed, so the documented command cannot run here")
    subprocess.run(["sh", "-c", next(iter(commands.values()))], cwd=tmp_path, check=True)
    env_file = tmp_path / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert set(env) == set(compose.example_variables())
    assert credentials(compose.load(), env)  # no variable left missing
    Settings(_env_file=None, jwt_secret=env["REELAY_JWT_SECRET"])


def docker_compose() -> list[str]:
    for argv in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(argv[0]) is None:
            continue
        probe = subprocess.run([*argv, "version"], capture_output=True, text=True)
        # Compose v1 (a Python program) predates the compose specification this file follows.
        if probe.returncode == 0 and not re.search(r"version v?1\.", probe.stdout):
            return argv
    pytest.skip("no Docker Compose v2 client here (docker compose / docker-compose)")


def test_docker_compose_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    """Compose itself, not our reading of it: `config` interpolates without an engine."""
    argv = docker_compose()
    clean_env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(tmp_path)}
    empty = tmp_path / "empty.env"
    empty.write_text("")
    # --env-file replaces the .env beside the compose file, which a developer may have.
    base = [*argv, "-f", str(compose.COMPOSE_FILE)]
    refused = subprocess.run(
        [*base, "--env-file", str(empty), "config"], capture_output=True, text=True, env=clean_env
    )
    assert refused.returncode != 0, refused.stdout
    assert "missing a value" in refused.stderr and ".env.example" in refused.stderr

    env = compose.operator_env()
    filled = tmp_path / "filled.env"
    filled.write_text("".join(f"{name}={value}\n" for name, value in env.items()))
    accepted = subprocess.run(
        [*base, "--env-file", str(filled), "config"], capture_output=True, text=True, env=clean_env
    )
    assert accepted.returncode == 0, accepted.stderr
    assert env["REELAY_JWT_SECRET"] in accepted.stdout

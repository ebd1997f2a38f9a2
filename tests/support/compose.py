"""docker-compose.yml read as compose reads it: YAML anchors merged, `${VAR}` interpolated.

Values come from the environment an operator gives it, which tests build from .env.example.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

# Compose's forms: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}.
REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


class MissingVariable(Exception):
    """A `${NAME:?message}` with NAME unset: compose refuses to start and prints the message."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"required variable {name} is missing a value: {message}")
        self.name = name
        self.message = message


def load() -> dict[str, Any]:
    """The file as YAML (x-* anchors and `<<` merges resolved), not yet interpolated."""
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def references(text: str) -> list[re.Match[str]]:
    return list(REFERENCE.finditer(text.replace("$$", "")))


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """`value` with every reference replaced as compose would, given `env`."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        current = env.get(name)
        unset = current is None or (current == "" and op is not None and op.startswith(":"))
        if not unset:
            return str(current)
        if op is None:
            raise AssertionError(f"{match[0]}: {name} is unset and has no default or error")
        if op.endswith("?"):
            raise MissingVariable(name, arg)
        return arg

    return REFERENCE.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")


def example_variables() -> dict[str, str]:
    """The variables .env.example assigns (commented-out optional ones excluded)."""
    out: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            out[name.strip()] = value.strip()
    return out


def operator_env() -> dict[str, str]:
    """What an operator who followed .env.example has: a fresh hex secret for each variable."""
    return {name: secrets.token_hex(32) for name in example_variables()}


def environment(service: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {str(k): interpolate(str(v), env) for k, v in raw.items()}


def command_argv(command: str | list[str], env: Mapping[str, str]) -> list[str]:
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    return [interpolate(a, env) for a in argv]

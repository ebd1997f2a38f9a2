"""`reelay keys` and `reelay login --api-key` against the real stack, run as a process."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.support.cli_runner import Cli
from tests.support.processes import AppProcesses

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"


@pytest.fixture
def user(apps: AppProcesses, clean_state: None, tmp_path: Path) -> Cli:
    cli = Cli(tmp_path / "owner")
    cli.ok(
        "register", "--server", apps.base_url, "--email", "keys@example.com", "--password", PASSWORD
    )
    return cli


def test_keys_are_made_listed_and_revoked(user: Cli, apps: AppProcesses, tmp_path: Path) -> None:
    made = user.ok("keys", "create", "ci runner", "--scope", "read")
    key = made.stdout.strip()
    assert key.startswith("rly_") and "shown only now" in made.stderr.lower()

    [listed] = user.ok("keys", "list", "--json").json()
    assert listed["name"] == "ci runner" and listed["scope"] == "read"
    assert key not in user.ok("keys", "list").stdout

    # Another machine logs in with the key, asked for on stdin (never an argument).
    backend = Cli(tmp_path / "backend", server=apps.base_url)
    logged = backend.run("login", "--api-key", input=key + "\n")
    assert logged.code == 0, logged.stderr
    assert "keys@example.com" in logged.stderr
    config = backend.config_dir / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["sessions"][apps.base_url]["api_key"] is True
    assert backend.ok("ls", "--json").stdout.strip() in ("", "[]")

    # A read key reads; it may not change anything, nor manage keys.
    refused = backend.run("keys", "create", "another")
    assert refused.code == 1 and "(HTTP 403)" in refused.reason

    user.ok("keys", "revoke", listed["id"])
    after = backend.run("ls")
    assert after.code == 1 and "revoked" in after.reason and "(HTTP 401)" in after.reason
    assert user.ok("keys", "list", "--json").json() == []


def test_the_key_in_the_environment_needs_no_saved_login(
    user: Cli, apps: AppProcesses, tmp_path: Path
) -> None:
    key = user.ok("keys", "create", "backend").stdout.strip()
    ephemeral = Cli(tmp_path / "nowhere", server=apps.base_url, extra_env={"REELAY_API_KEY": key})
    assert ephemeral.ok("ls").code == 0
    assert not (ephemeral.config_dir / "config.json").exists()
    # `login --api-key` takes it from there too.
    ephemeral.ok("login", "--api-key")
    assert (ephemeral.config_dir / "config.json").exists()

"""Where the CLI keeps its server URL, tokens and resumable-upload state.

$REELAY_CONFIG_DIR, else $XDG_CONFIG_HOME/reelay, else ~/.config/reelay. Tokens are kept per
server in config.json, readable by the owner only (0600).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SERVER = "http://127.0.0.1:8000"


def config_dir() -> Path:
    if explicit := os.environ.get("REELAY_CONFIG_DIR"):
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "reelay"


def write_private(path: Path, text: str) -> None:
    """Write atomically; the file is 0600 from the moment it exists."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


@dataclass
class Session:
    token: str
    email: str
    expires_at: float
    # An API key (`reelay login --api-key`) does not expire; it works until it is revoked.
    api_key: bool = False

    @property
    def expired(self) -> bool:
        return not self.api_key and time.time() >= self.expires_at


@dataclass
class Config:
    path: Path
    server: str | None = None  # the server of the last login
    sessions: dict[str, Session] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Config:
        path = config_dir() / "config.json"
        try:
            raw: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        sessions = {url: Session(**s) for url, s in (raw.get("sessions") or {}).items()}
        return cls(path, raw.get("server"), sessions)

    def save(self) -> None:
        body = {
            "server": self.server,
            "sessions": {url: vars(s) for url, s in self.sessions.items()},
        }
        write_private(self.path, json.dumps(body, indent=2) + "\n")

    def resolve_server(self, option: str | None) -> str:
        """--server, else $REELAY_SERVER, else the server of the last login, else the default."""
        chosen = option or os.environ.get("REELAY_SERVER") or self.server or DEFAULT_SERVER
        return normalize(chosen)

    def remember(self, server: str, email: str, token: str, expires_in: int) -> None:
        self.server = server
        self.sessions[server] = Session(
            token=token, email=email, expires_at=time.time() + expires_in
        )
        self.save()

    def remember_key(self, server: str, email: str, key: str) -> None:
        self.server = server
        self.sessions[server] = Session(token=key, email=email, expires_at=0, api_key=True)
        self.save()

    def forget(self, server: str) -> None:
        self.sessions.pop(server, None)
        self.save()


def normalize(server: str) -> str:
    server = server.strip().rstrip("/")
    return server if "://" in server else f"http://{server}"


class ConfigError(Exception):
    pass

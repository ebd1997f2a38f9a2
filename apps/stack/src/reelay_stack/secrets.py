"""Secrets generated once into the data directory, so a restart keeps tokens and keys valid."""

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackSecrets:
    jwt_secret: str
    s3_access_key: str
    s3_secret_key: str
    redis_password: str
    seaweed_signing_key: str


def load_or_create(data_dir: Path) -> StackSecrets:
    path = data_dir / "secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    # A data directory from an older version keeps its keys and gains the ones it lacks.
    merged = {**asdict(generate()), **stored}
    if merged != stored:
        write_private(path, json.dumps(merged))
    return StackSecrets(**merged)


def generate() -> StackSecrets:
    return StackSecrets(
        jwt_secret=secrets.token_urlsafe(48),
        s3_access_key="reelay" + secrets.token_hex(6),
        s3_secret_key=secrets.token_urlsafe(32),
        redis_password=secrets.token_urlsafe(32),
        seaweed_signing_key=secrets.token_urlsafe(32),
    )


def write_private(path: Path, text: str) -> None:
    """Write a file that only its owner can ever read: created 0600, not chmod-ed after the fact
    (which leaves a moment in which others can open it), then moved into place."""
    staging = path.with_name(path.name + ".new")
    staging.unlink(missing_ok=True)
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    staging.replace(path)

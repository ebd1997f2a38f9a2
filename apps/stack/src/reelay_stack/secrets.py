"""Secrets generated once into the data directory, so a restart keeps tokens and S3 keys valid."""

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackSecrets:
    jwt_secret: str
    s3_access_key: str
    s3_secret_key: str


def load_or_create(data_dir: Path) -> StackSecrets:
    path = data_dir / "secrets.json"
    if path.exists():
        return StackSecrets(**json.loads(path.read_text()))
    created = StackSecrets(
        jwt_secret=secrets.token_urlsafe(48),
        s3_access_key="reelay" + secrets.token_hex(6),
        s3_secret_key=secrets.token_urlsafe(32),
    )
    path.write_text(json.dumps(asdict(created)))
    path.chmod(0o600)
    return created

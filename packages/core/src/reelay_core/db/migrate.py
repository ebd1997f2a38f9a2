"""Run alembic migrations programmatically (used by `reelay up` and the test suite)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

# packages/core/src/reelay_core/db/migrate.py -> the workspace root holds alembic.ini.
ALEMBIC_INI = Path(__file__).resolve().parents[5] / "alembic.ini"


def alembic_config(database_url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)

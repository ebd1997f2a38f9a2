"""Alembic environment: runs migrations over the async engine against REELAY_DATABASE_URL."""

import asyncio
from logging.config import fileConfig

from alembic import context
from reelay_core.db import models as m
from reelay_core.settings import Settings
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = m.Base.metadata


def database_url() -> str:
    # Callers (reelay up, tests) may pass the URL explicitly; otherwise settings decide.
    url = config.attributes.get("database_url") or Settings().database_url
    if not url:
        raise SystemExit("REELAY_DATABASE_URL is not set: nothing to migrate.")
    return url


def run_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_async_engine(database_url())
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())

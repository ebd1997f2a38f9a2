"""The migrations build the schema on an empty database and take it all down again."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from reelay_core.db import migrate
from reelay_core.db import models as m
from reelay_core.settings import Settings
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


async def table_names(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names


@pytest.fixture
async def empty_database(stack_settings: Settings):
    """A brand-new database on the same server, dropped afterwards."""
    server = make_url(str(stack_settings.database_url))
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_upgrade_head_then_downgrade_base(empty_database: str) -> None:
    assert await table_names(empty_database) == set()

    # env.py runs its own event loop, so alembic goes to a thread as it would from a CLI.
    await asyncio.to_thread(migrate.upgrade, empty_database)
    created = await table_names(empty_database)
    assert set(m.Base.metadata.tables) <= created
    assert "alembic_version" in created

    await asyncio.to_thread(migrate.downgrade, empty_database, "base")
    assert await table_names(empty_database) == {"alembic_version"}


async def test_models_match_the_migrations(empty_database: str) -> None:
    """Autogenerate finds nothing to add: the models and the migrations describe one schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    await asyncio.to_thread(migrate.upgrade, empty_database)
    engine = create_async_engine(empty_database)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), m.Base.metadata)
        )
    await engine.dispose()
    assert diff == []

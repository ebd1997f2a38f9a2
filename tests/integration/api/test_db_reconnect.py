"""Connections PostgreSQL closed (as a restart does) are replaced without a failed request,
although the pool no longer pings each connection before handing it out."""

from __future__ import annotations

import httpx
from reelay_core.settings import Settings
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.client import register
from tests.support.factories import create_media
from tests.support.waits import until

API_BACKENDS = "select pid from pg_stat_activity where application_name = 'reelay-api'"


async def test_requests_after_postgres_closed_the_apis_connections_all_succeed(
    api: httpx.AsyncClient, stack_settings: Settings
) -> None:
    account = await register(api)
    media_id = (await create_media(api, account))["id"]
    for _ in range(5):
        assert (await api.get(f"/videos/{media_id}", headers=account.headers)).status_code == 200

    admin = create_async_engine(str(stack_settings.database_url), poolclass=NullPool)
    try:
        async with admin.connect() as db:
            pids = list(await db.scalars(text(API_BACKENDS)))
            assert pids, "the API holds pooled connections"
            await db.execute(text(API_BACKENDS.replace("pid", "pg_terminate_backend(pid)", 1)))

        async def all_gone() -> bool:
            async with admin.connect() as db:
                return not set(await db.scalars(text(API_BACKENDS))) & set(pids)

        await until(all_gone, what="the API's connections closed")
    finally:
        await admin.dispose()

    for _ in range(5):
        answer = await api.get(f"/videos/{media_id}", headers=account.headers)
        assert answer.status_code == 200, answer.text

"""Service endpoints: liveness, readiness of every dependency, Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from reelay_api.deps import AppResources
from reelay_api.problems import Problem

CHECK_TIMEOUT = 3.0


@get("/healthz", summary="Liveness", include_in_schema=True)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", summary="Postgres, Redis and object storage answer")
async def readyz(resources: AppResources) -> Response[Any]:
    async def postgres() -> None:
        async with resources.engine.connect() as conn:
            await conn.execute(text("select 1"))

    checks = {
        "postgres": postgres(),
        "redis": resources.redis.ping(),
        "storage": resources.storage.ping(),
    }
    results = await asyncio.gather(
        *(asyncio.wait_for(c, CHECK_TIMEOUT) for c in checks.values()), return_exceptions=True
    )
    failing = {
        name: repr(r)
        for name, r in zip(checks, results, strict=True)
        if isinstance(r, BaseException)
    }
    if failing:
        raise Problem(
            503,
            "Not ready: " + ", ".join(f"{n} ({e})" for n, e in failing.items()),
            code="not_ready",
            extra={"failing": sorted(failing)},
        )
    return Response({"status": "ready"})


@get("/metrics", summary="Prometheus metrics", media_type=CONTENT_TYPE_LATEST, sync_to_thread=False)
def metrics() -> Response[bytes]:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

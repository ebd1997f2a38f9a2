"""Service endpoints: liveness, readiness of every dependency, Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from typing import Any

from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from reelay_api.deps import AppResources, AppSettings
from reelay_api.problems import Problem, problem_docs

log = logging.getLogger(__name__)
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
    failures = {
        name: r for name, r in zip(checks, results, strict=True) if isinstance(r, BaseException)
    }
    if failures:
        # The answer is public: what went wrong (hosts, addresses, versions) is for the log.
        for name, exc in failures.items():
            log.warning("not ready: %s failed: %r", name, exc)
        failing = sorted(failures)
        raise Problem(
            503,
            f"Not ready: {', '.join(failing)} not answering.",
            code="not_ready",
            extra={"failing": failing},
        )
    return Response({"status": "ready"})


@get(
    "/metrics",
    summary="Prometheus metrics",
    description="With REELAY_METRICS_TOKEN set, send it as `Authorization: Bearer <token>`; "
    "without it, only loopback peers are answered.",
    media_type=CONTENT_TYPE_LATEST,
    sync_to_thread=False,
    responses=problem_docs(401, 403),
)
def metrics(request: Request[Any, Any, Any], settings: AppSettings) -> Response[bytes]:
    if settings.metrics_token is not None:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {settings.metrics_token}".encode()):
            raise Problem(
                401,
                "Send the metrics token: `Authorization: Bearer <REELAY_METRICS_TOKEN>`.",
                code="metrics_token_required",
            )
    elif not is_loopback(request.client.host if request.client else None):
        raise Problem(
            403,
            "Metrics are served to this host only; set REELAY_METRICS_TOKEN to scrape them "
            "from elsewhere.",
            code="metrics_local_only",
        )
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""The API app served in the test's own event loop, for settings the shared API process lacks.

A real uvicorn server on a free port (not an in-memory transport), so streaming, early answers
and client addresses behave as in production; it talks to the same Postgres, Valkey and S3.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from reelay_api.app import create_app
from reelay_api.auth.rate_limit import proxy_options
from reelay_core.settings import Settings
from reelay_stack.ports import free_port

from tests.support.waits import until


@asynccontextmanager
async def serve_app(settings: Settings, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Yield a client of `create_app(settings + overrides)` served on a free port."""
    port = free_port()
    settings = settings.model_copy(update={**overrides, "api_port": port, "log_level": "WARNING"})
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            # As `python -m reelay_api` runs it: uvicorn's own logging set-up would give its
            # loggers handlers of their own for the rest of the test session.
            log_config=None,
            **proxy_options(settings),
        )
    )
    task = asyncio.create_task(server.serve())
    await until(lambda: server.started or task.done(), what="the in-process API server starts")
    if task.done():
        task.result()  # raises what stopped the server
        raise RuntimeError("the in-process API server stopped before it started")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        await task

"""A restart of the API process as clients live through it, and workers held still meanwhile.

While the API is down its port first refuses connections; `answer_unavailable` then puts a
stand-in there that answers every request 503, as a reverse proxy does while its upstream
restarts (and as the API does while Redis is away).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from reelay_core.settings import Settings
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.processes import AppProcesses


class Unavailable(BaseHTTPRequestHandler):
    server: UnavailableServer

    def do_GET(self) -> None:
        self.server.requests += 1
        body = b'{"status": 503, "detail": "The API is restarting."}'
        self.send_response(503)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass  # the test says what it waits for; a line per request says nothing more


class UnavailableServer(ThreadingHTTPServer):
    def __init__(self, host: str, port: int) -> None:
        super().__init__((host, port), Unavailable)
        self.requests = 0


class ApiOutage:
    def __init__(self, apps: AppProcesses) -> None:
        self.apps = apps
        self.stand_in: UnavailableServer | None = None

    def answer_unavailable(self) -> None:
        settings = self.apps.settings
        self.stand_in = UnavailableServer(settings.api_host, settings.api_port)
        threading.Thread(target=self.stand_in.serve_forever, daemon=True).start()

    @property
    def unavailable_answers(self) -> int:
        return self.stand_in.requests if self.stand_in else 0

    def end(self) -> None:
        if self.stand_in is not None:
            self.stand_in.shutdown()
            self.stand_in.server_close()
            self.stand_in = None
        if self.apps.api.exited() is not None:
            self.apps.api.start()
            self.apps.wait_ready()


@contextmanager
def api_outage(apps: AppProcesses) -> Iterator[ApiOutage]:
    """The API stopped (SIGTERM, as a deploy does) until `end()`, or the block's end at latest."""
    apps.api.stop(grace=10)
    outage = ApiOutage(apps)
    try:
        yield outage
    finally:
        outage.end()


@contextmanager
def workers_paused(apps: AppProcesses) -> Iterator[Callable[[], None]]:
    """No worker takes or moves a job (SIGSTOP) until the returned `resume` is called, or the
    block ends: an item stays queued meanwhile."""
    paused = list(apps.workers)
    for worker in paused:
        os.killpg(worker.pid, signal.SIGSTOP)

    def resume() -> None:
        while paused:
            os.killpg(paused.pop().pid, signal.SIGCONT)

    try:
        yield resume
    finally:
        resume()


async def stored_status(settings: Settings, media_id: str) -> str | None:
    """The item's status in PostgreSQL: what clients will be told once the API is back."""
    engine = create_async_engine(str(settings.database_url), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            query = text("SELECT status::text FROM media WHERE id = :id")
            status: str | None = await conn.scalar(query, {"id": media_id})
            return status
    finally:
        await engine.dispose()

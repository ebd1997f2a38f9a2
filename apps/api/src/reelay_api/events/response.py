"""The SSE response: an ASGI app that sends the bytes of an async iterator, and nothing more.

sse-starlette's EventSourceResponse runs a task group of four tasks per connection and opens a
cancel scope for every send; with thousands of streams on one process those were ~45 % of its
CPU under fan-out. Here a connection costs its own request task and one task waiting for the
client to leave; heartbeats come from the process's one timer (`heartbeat`), through the
stream's own events, and a client that takes nothing for too long is dropped by that timer too
(`drop_stalled`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, Mapping
from typing import Any, cast

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from reelay_core.logging import bound_request_id

_open: set[EventStream] = set()


class EventStream:
    def __init__(self, frames: AsyncGenerator[bytes, None], headers: Mapping[str, str]) -> None:
        self.frames = frames
        # A list of its own: middlewares add headers to the start message in place.
        self.headers = list(_raw_headers(tuple(headers.items())))
        self.sending_since: float | None = None
        self._task: asyncio.Task[object] | None = None
        self._ended_by: str | None = None  # "disconnect" or "stalled": not an error
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        detached: list[EventStream] | None = cast("dict[str, Any]", scope).get(DETACHED)
        if detached is not None:
            # The start goes through Litestar's middleware (CORS adds its headers to it there);
            # the body is sent by `run_detached` once Litestar has returned.
            await send(self._start())
            self.started = True
            detached.append(self)
            return
        await self.run(receive, send)

    def _start(self) -> Message:
        return {"type": "http.response.start", "status": 200, "headers": self.headers}

    async def run(self, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        watcher = asyncio.create_task(self._watch(receive))
        _open.add(self)
        loop = asyncio.get_running_loop()
        try:
            if not self.started:
                await send(self._start())
            async for frame in self.frames:
                self.sending_since = loop.time()
                await send({"type": "http.response.body", "body": frame, "more_body": True})
                self.sending_since = None
            self._task = None  # ending on its own: a disconnect from now on cancels nothing
            # A terminal event ends every stream of its item at once: each one yields here, so
            # that all of them send the event before any does the work of closing.
            await asyncio.sleep(0)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if self._ended_by is None:
                raise
            task.uncancel()  # the client left, or was dropped: this response is done
        finally:
            _open.discard(self)
            watcher.cancel()
            await self.frames.aclose()

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self._end("disconnect")

    def _end(self, why: str) -> None:
        if self._ended_by is None and self._task is not None:
            self._ended_by = why
            self._task.cancel()


DETACHED = "reelay.detached_streams"


def run_detached(app: ASGIApp) -> ASGIApp:
    """Around the whole app: a stream that its handler returned runs after the app has returned.

    Routing, middleware and auth stay as they are for the request, and the stream's start
    message goes through all of them; only their frames and per-request objects (the Request,
    its parsed headers, the connection state) no longer stay alive for as long as the stream is
    open (tracemalloc: ~3.5 KiB per stream), and the stream's frames go straight to the server
    rather than through each middleware's `send` (~10 % of a fan-out's CPU).
    """

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not scope["path"].endswith("/events"):
            await app(scope, receive, send)
            return
        detached: list[EventStream] = []
        # Copies: what Litestar keeps in the scope and its state goes with them.
        state = dict(scope.get("state", {}))
        await app(cast("Scope", {**scope, "state": state, DETACHED: detached}), receive, send)
        for stream in detached:
            # The request id its start message got, for the stream's own log lines.
            request_id = next(
                (v.decode("latin-1") for k, v in stream.headers if k.lower() == b"x-request-id"),
                None,
            )
            with bound_request_id(request_id):
                await stream.run(receive, send)

    return handler


@functools.cache
def _raw_headers(headers: tuple[tuple[str, str], ...]) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        *((name.lower().encode(), value.encode()) for name, value in headers),
    ]


def drop_stalled(after_seconds: float) -> None:
    """End the streams whose client has not taken a frame for `after_seconds`: it resumes by
    replay when it reconnects, and meanwhile holds no buffer."""
    now = asyncio.get_running_loop().time()
    for stream in list(_open):
        if stream.sending_since is not None and now - stream.sending_since > after_seconds:
            stream._end("stalled")


def open_count() -> int:
    return len(_open)

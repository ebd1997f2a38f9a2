"""SSE endpoints: GET /videos/{id}/events (and /images/...) and GET /events.

They are raw ASGI handlers because sse-starlette's EventSourceResponse is an ASGI app; the JWT
middleware still runs in front of them and puts the caller in scope["user"].
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

from litestar import asgi
from litestar.types import Receive, Scope, Send
from reelay_core.db import models as m
from reelay_core.db.models import MediaKind
from sqlalchemy import select
from sse_starlette import EventSourceResponse, ServerSentEvent

from reelay_api.events.stream import media_events, user_events
from reelay_api.problems import problem_response
from reelay_api.resources import Resources

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
HEARTBEAT_SECONDS = 15


def event_source(content: AsyncIterator[ServerSentEvent]) -> EventSourceResponse:
    # send_timeout: a client that stops reading is dropped instead of holding a task forever.
    return EventSourceResponse(content, headers=SSE_HEADERS, ping=HEARTBEAT_SECONDS, send_timeout=30)


def last_event_id(scope: Scope) -> int | None:
    headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
    raw = headers.get("last-event-id") or parse_qs(scope.get("query_string", b"").decode()).get("last_event_id", [None])[0]
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


async def send_problem(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    response = problem_response(status, detail, code="not_found" if status == 404 else None)
    await response.to_asgi_response(scope["litestar_app"], None)(scope, receive, send)  # type: ignore[arg-type]


def make_media_events_handler(kind: MediaKind, path: str):  # noqa: ANN201 - a route handler
    @asgi(f"{path}/{{media_id:uuid}}/events", is_mount=False, name=f"{kind.value}-events")
    async def media_event_stream(scope: Scope, receive: Receive, send: Send) -> None:
        resources: Resources = scope["litestar_app"].state.resources
        media_id: uuid.UUID = scope["path_params"]["media_id"]
        user = scope["user"]
        async with resources.sessions() as db:
            owned = await db.scalar(
                select(m.Media.id).where(m.Media.id == media_id, m.Media.owner_id == user.id, m.Media.kind == kind)
            )
        if owned is None:
            await send_problem(scope, receive, send, 404, f"No {kind.value} with this id exists.")
            return
        await event_source(media_events(resources, media_id, last_event_id(scope)))(scope, receive, send)  # type: ignore[arg-type]

    return media_event_stream


@asgi("/events", is_mount=False, name="user-events")
async def user_event_stream(scope: Scope, receive: Receive, send: Send) -> None:
    resources: Resources = scope["litestar_app"].state.resources
    await event_source(user_events(resources, scope["user"].id))(scope, receive, send)  # type: ignore[arg-type]

"""SSE endpoints: GET /videos/{id}/events (and /images/...) and GET /events.

The handlers return an `EventStream`, an ASGI app, which runs once Litestar has returned
(`response.run_detached`); routing, auth and OpenAPI stay Litestar's.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, cast

from litestar import Request, get
from litestar.datastructures import State
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery, HeaderParameter
from litestar.security.jwt import Token
from litestar.types import ASGIApp
from reelay_core.db import models as m
from reelay_core.db.models import MediaKind
from sqlalchemy import select
from sse_starlette import EventSourceResponse, ServerSentEvent

from reelay_api.auth.security import AuthUser
from reelay_api.deps import AppResources
from reelay_api.events import heartbeat
from reelay_api.events.grant import StreamGrant
from reelay_api.events.response import EventStream
from reelay_api.events.stream import media_events, user_events
from reelay_api.problems import not_found, problem_docs
from reelay_api.viewer.tokens import viewer_access

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
HEARTBEAT_SECONDS = heartbeat.INTERVAL_SECONDS
EVENTS_DOC = (
    "Server-Sent Events: `status` and `progress` events, then a terminal `completed`, `failed` or "
    "`canceled` one, each with an integer `id`. Resume with Last-Event-ID or ?last_event_id=. "
    "docs/api.md in the reelay repository describes every event."
)


# A client that has not taken a single byte for this long is dropped; it resumes by replay.
SEND_TIMEOUT_SECONDS = 30


def event_source(content: AsyncIterator[ServerSentEvent]) -> ASGIApp:
    """sse-starlette's response, for a low-volume stream that brings no heartbeat of its own
    (webhooks/events): a task group per connection, its own ping timer."""
    response = EventSourceResponse(
        content, headers=SSE_HEADERS, ping=15, send_timeout=SEND_TIMEOUT_SECONDS
    )
    # An ASGI app either way; sse-starlette only spells scope and messages as Starlette's
    # plain mappings where Litestar uses TypedDicts.
    return cast("ASGIApp", response)


def event_stream(frames: AsyncGenerator[bytes, None]) -> ASGIApp:
    """The lean response of the media streams, which may be open by the thousand: their hub
    subscription brings the heartbeat (see `events.response`)."""
    return EventStream(frames, SSE_HEADERS)


def resume_point(header: str | None, query: int | None) -> int | None:
    """The Last-Event-ID header wins over ?last_event_id=; anything but an integer is ignored."""
    raw = header.strip() if header else query
    try:
        return max(int(raw), 0) if raw is not None else None
    except ValueError:
        return None


def make_media_events_handler(kind: MediaKind, path: str) -> HTTPRouteHandler:
    @get(
        f"{path}/{{media_id:uuid}}/events",
        media_type="text/event-stream",
        name=f"{kind.value}-events",
        summary=f"Live progress of one {kind} (SSE)",
        description=EVENTS_DOC,
        tags=[path.strip("/")],
        guards=[viewer_access],
        responses=problem_docs(401, 404),
    )
    async def media_event_stream(
        request: Request[AuthUser, Token, State],
        media_id: FromPath[uuid.UUID],
        resources: AppResources,
        last_event_id_header: Annotated[str | None, HeaderParameter(name="Last-Event-ID")] = None,
        last_event_id: FromQuery[int | None] = None,
    ) -> ASGIApp:
        async with resources.sessions() as db:
            owned = await db.scalar(
                select(m.Media.id).where(
                    m.Media.id == media_id,
                    m.Media.owner_id == request.user.id,
                    m.Media.kind == kind,
                )
            )
        if owned is None:
            raise not_found(kind.value)
        resume = resume_point(last_event_id_header, last_event_id)
        grant = StreamGrant(request.auth, resources.redis)
        return event_stream(media_events(resources, media_id, resume, grant))

    return media_event_stream


@get(
    "/events",
    media_type="text/event-stream",
    summary="Live events of all the caller's media (SSE)",
    description=(
        "The same events as /videos/{id}/events for every item of the caller, live only; "
        "`data` also carries `media_id`. A `resync` event means some were missed: refetch."
    ),
    tags=["events"],
    responses=problem_docs(401),
)
async def user_event_stream(
    request: Request[AuthUser, Token, State], resources: AppResources
) -> ASGIApp:
    grant = StreamGrant(request.auth, resources.redis)
    return event_stream(user_events(resources, request.user.id, grant))

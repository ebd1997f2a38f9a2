"""Controllers for /webhooks: parse, scope to the caller, call the service, shape the answer."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.security.jwt import Token
from litestar.types import ASGIApp
from redis.asyncio import Redis
from reelay_core.webhooks import channels, outbox
from sse_starlette import ServerSentEvent

from reelay_api.deps import AppResources, CurrentUser, Db
from reelay_api.events.endpoints import event_source
from reelay_api.events.grant import StreamGrant
from reelay_api.problems import problem_docs
from reelay_api.webhooks import repository, service
from reelay_api.webhooks.schemas import (
    CreateWebhook,
    DeliveryOut,
    DeliveryPage,
    PingSent,
    WebhookCreated,
    WebhookOut,
    WebhookPage,
)

LISTEN_POLL_SECONDS = 15.0


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]

    @post(
        "/",
        status_code=201,
        summary="Add a webhook endpoint; the answer is the only time its secret is shown",
        responses=problem_docs(400, 401, 403, 409, 415, 422),
    )
    async def create(
        self, data: JSONBody[CreateWebhook], user: CurrentUser, db: Db, resources: AppResources
    ) -> WebhookCreated:
        endpoint = await service.create(
            db, resources.settings, user.id, data.url, list(data.events)
        )
        return WebhookCreated(**WebhookOut.of(endpoint).model_dump(), secret=endpoint.secret)

    @get("/", summary="The caller's webhook endpoints (never their secrets)")
    async def list_webhooks(self, user: CurrentUser, db: Db) -> WebhookPage:
        return WebhookPage(
            items=[WebhookOut.of(e) for e in await repository.list_owned(db, user.id)]
        )

    @delete(
        "/{webhook_id:uuid}",
        status_code=204,
        summary="Delete a webhook endpoint and its delivery log",
        responses=problem_docs(401, 403, 404),
    )
    async def remove(self, webhook_id: FromPath[uuid.UUID], user: CurrentUser, db: Db) -> None:
        await db.delete(await repository.get_owned(db, webhook_id, user.id, lock=True))

    @get(
        "/{webhook_id:uuid}/deliveries",
        summary="The endpoint's deliveries, newest first",
        responses=problem_docs(401, 404),
    )
    async def deliveries(
        self,
        webhook_id: FromPath[uuid.UUID],
        user: CurrentUser,
        db: Db,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
    ) -> DeliveryPage:
        endpoint = await repository.get_owned(db, webhook_id, user.id)
        rows = await repository.recent_deliveries(db, endpoint.id, limit=limit)
        return DeliveryPage(items=[DeliveryOut.of(row) for row in rows])

    @post(
        "/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver",
        status_code=202,
        summary="Send a delivery again, with its own event id (re-enables the endpoint)",
        responses=problem_docs(401, 403, 404),
    )
    async def redeliver(
        self,
        webhook_id: FromPath[uuid.UUID],
        delivery_id: FromPath[uuid.UUID],
        user: CurrentUser,
        db: Db,
    ) -> DeliveryOut:
        endpoint = await repository.get_owned(db, webhook_id, user.id, lock=True)
        delivery = await repository.get_delivery(db, endpoint.id, delivery_id)
        await outbox.redeliver(db, endpoint, delivery)
        await db.refresh(delivery)
        return DeliveryOut.of(delivery)

    @post(
        "/{webhook_id:uuid}/ping",
        status_code=202,
        summary="Send a `ping` event to the endpoint (re-enables it)",
        responses=problem_docs(401, 403, 404),
    )
    async def ping(self, webhook_id: FromPath[uuid.UUID], user: CurrentUser, db: Db) -> PingSent:
        endpoint = await repository.get_owned(db, webhook_id, user.id, lock=True)
        delivery = await outbox.ping(db, endpoint)
        return PingSent(delivery_id=delivery.id, event_id=delivery.event_id)

    @get(
        "/events",
        media_type="text/event-stream",
        summary="The caller's webhook events, live (SSE), for `reelay webhooks listen`",
        description=(
            "Every event the caller's media cause, as a webhook body (`data:`), named by its "
            "type, with its event id as `id:`; whether or not an endpoint subscribes. Live only: "
            "what happens while no stream is open is not replayed (endpoints get it)."
        ),
        responses=problem_docs(401),
    )
    async def events(
        self, request: Request[Any, Token, State], user: CurrentUser, resources: AppResources
    ) -> ASGIApp:
        grant = StreamGrant(request.auth, resources.redis)
        return event_source(live_events(resources.redis, user.id, grant))


async def live_events(
    redis: Redis, owner_id: uuid.UUID, grant: StreamGrant
) -> AsyncIterator[ServerSentEvent]:
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(channels.account_channel(owner_id))
        yield ServerSentEvent(comment="listening")
        while await grant.holds():
            message = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=grant.wait_at_most(LISTEN_POLL_SECONDS)
            )
            if message is None or message["type"] != "message":
                continue
            body = message["data"].decode()
            envelope = json.loads(body)
            yield ServerSentEvent(data=body, event=envelope["type"], id=envelope["id"])

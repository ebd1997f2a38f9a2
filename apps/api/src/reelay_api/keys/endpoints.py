"""/api-keys: create (the key shown once), list, revoke. Managed from a login only."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, delete, get, post
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, JSONBody

from reelay_api.auth.principal import AuthUser, Credential
from reelay_api.deps import AppResources, CurrentUser, Db
from reelay_api.keys import repository, service
from reelay_api.keys.schemas import ApiKeyCreated, ApiKeyOut, ApiKeyPage, CreateApiKey
from reelay_api.problems import Problem, problem_docs


def login_only(connection: ASGIConnection[Any, AuthUser, Any, Any], _: BaseRouteHandler) -> None:
    """Keys cannot manage keys (as in Mux, where only the dashboard can): a leaked key cannot
    make itself a successor that outlives its revocation, nor revoke its owner's other keys."""
    if connection.user.credential != Credential.SESSION:
        raise Problem(
            403,
            "API keys are managed from a login (`reelay login` with a password, or the web "
            "page), not with an API key.",
            code="login_required",
        )


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["api-keys"]
    guards = [login_only]

    @post(
        "/",
        status_code=201,
        summary="Make an API key; the answer is the only time the key is shown",
        responses=problem_docs(400, 401, 403, 409, 415, 422),
    )
    async def create(
        self, data: JSONBody[CreateApiKey], user: CurrentUser, db: Db
    ) -> ApiKeyCreated:
        api_key, key = await service.create(db, user.id, data.name, data.scope)
        return ApiKeyCreated(**ApiKeyOut.of(api_key).model_dump(), key=key)

    @get(
        "/",
        summary="The caller's API keys (never the keys themselves)",
        responses=problem_docs(401, 403),
    )
    async def list_keys(self, user: CurrentUser, db: Db) -> ApiKeyPage:
        return ApiKeyPage(items=[ApiKeyOut.of(k) for k in await repository.list_owned(db, user.id)])

    @delete(
        "/{key_id:uuid}",
        status_code=204,
        summary="Revoke an API key: it stops working at once",
        responses=problem_docs(401, 403, 404),
    )
    async def revoke(
        self, key_id: FromPath[uuid.UUID], user: CurrentUser, db: Db, resources: AppResources
    ) -> None:
        await service.revoke(
            db, resources.redis, user.id, key_id, resources.settings.token_ttl_seconds
        )

"""POST /videos/{id}/tokens (and /images/...): a viewer token for one item."""

from __future__ import annotations

import uuid

from litestar import post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody
from reelay_core.db.models import MediaKind

from reelay_api.auth.principal import CHANGES_NOTHING
from reelay_api.deps import AppSettings, CurrentUser, Db
from reelay_api.media import repository
from reelay_api.problems import problem_docs
from reelay_api.viewer import tokens
from reelay_api.viewer.schemas import CreateViewerToken, ViewerToken

DESCRIPTION = (
    "The token, sent as `?token=`, grants only this item: `GET {path}/{{id}}`, its `/events`, "
    "`/hls/master.m3u8` and the playlists it links, and `/download`; nothing else. A page on any "
    "origin can follow progress with a plain EventSource and play with any HLS player. Nothing "
    "is stored: a token cannot be revoked, so keep its lifetime short."
)


def make_viewer_token_handler(kind: MediaKind, path: str) -> HTTPRouteHandler:
    @post(
        f"{path}/{{media_id:uuid}}/tokens",
        status_code=201,
        name=f"{kind.value}-viewer-token",
        summary=f"A short-lived viewer token for one {kind}",
        description=DESCRIPTION.format(path=path),
        tags=[path.strip("/")],
        # It stores nothing and grants less than a read key already has.
        opt={CHANGES_NOTHING: True},
        responses=problem_docs(400, 401, 403, 404, 415, 422),
    )
    async def create_viewer_token(
        media_id: FromPath[uuid.UUID],
        user: CurrentUser,
        db: Db,
        settings: AppSettings,
        data: JSONBody[CreateViewerToken | None] = None,
    ) -> ViewerToken:
        media = await repository.get_owned(db, media_id, user.id, kind)
        ttl = (data or CreateViewerToken()).ttl_seconds
        assert settings.jwt_secret  # the app does not start without one
        token, expires_at = tokens.issue(settings.jwt_secret, user.id, media.id, ttl)
        return ViewerToken(token=token, expires_at=expires_at)

    return create_viewer_token

"""Controllers for /videos and /images: parse, authorize, call the service, shape the answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.openapi.spec import OpenAPIMediaType as MediaTypeDoc
from litestar.openapi.spec import Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Redirect
from reelay_core.db import models as m
from reelay_core.db.models import MediaKind, MediaStatus
from reelay_core.media import transitions
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_api.auth.principal import AuthUser, Credential
from reelay_api.deps import AppResources, CurrentUser, Db
from reelay_api.media import playback, repository, service, upload_stream, uploads
from reelay_api.media.schemas import (
    CompleteUpload,
    CreateMedia,
    MediaCreated,
    MediaOut,
    MediaPage,
    MediaQueued,
    ResumeParts,
)
from reelay_api.problems import Problem, problem_docs
from reelay_api.viewer import tokens
from reelay_api.viewer.tokens import viewer_access

HLS_TYPE = "application/vnd.apple.mpegurl"


@dataclass
class FormUploadOperation(Operation):
    """The upload handler reads the raw stream, so its form body is described by hand."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The file as the form field `file` (its filename and content type "
            "count); `external_id` and `metadata` (a JSON object as text), if sent, come first.",
            content={
                "multipart/form-data": MediaTypeDoc(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        properties={
                            "external_id": Schema(type=OpenAPIType.STRING, max_length=255),
                            "metadata": Schema(
                                type=OpenAPIType.STRING,
                                description="A JSON object, at most 4096 bytes as compact JSON.",
                            ),
                            "file": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY),
                        },
                        required=["file"],
                    )
                )
            },
        )


class MediaController(Controller):
    """The routes of one media kind; a subclass per kind sets `path` and `kind`."""

    kind: ClassVar[MediaKind]
    a_noun: ClassVar[str]  # "a video", "an image": for the OpenAPI summaries

    def get_route_handlers(self) -> list[BaseRouteHandler]:
        # Handlers are copied per controller, so each kind's summaries can name it.
        handlers = super().get_route_handlers()
        for handler in handlers:
            if isinstance(handler, HTTPRouteHandler) and handler.summary:
                handler.summary = handler.summary.format(noun=self.kind.value, a_noun=self.a_noun)
        return handlers

    @post(
        "/",
        status_code=201,
        summary="Start {a_noun} upload: a presigned POST or multipart URLs",
        responses=problem_docs(400, 401, 413, 415, 422, 429),
    )
    async def create(
        self, data: JSONBody[CreateMedia], user: CurrentUser, db: Db, resources: AppResources
    ) -> MediaCreated:
        media, upload = await uploads.create(
            db,
            resources.storage,
            resources.settings,
            owner_id=user.id,
            kind=self.kind,
            filename=data.filename,
            content_type=data.content_type,
            size=data.size,
            external_id=data.external_id,
            metadata=data.metadata,
            upload_ttl_seconds=data.upload_ttl_seconds,
        )
        return MediaCreated.of(media, upload=upload)

    @post(
        "/upload",
        status_code=202,
        summary="Upload {a_noun} through the API (multipart/form-data)",
        description="For clients that cannot upload to storage directly. The body is streamed "
        "to storage as it arrives; the size limit is enforced while streaming.",
        request_max_body_size=None,
        operation_class=FormUploadOperation,
        responses=problem_docs(400, 401, 413, 415, 422, 429),
    )
    async def upload(
        self,
        request: Request[AuthUser, Any, State],
        user: CurrentUser,
        db: Db,
        resources: AppResources,
    ) -> MediaQueued:
        media_id = uuid.uuid4()
        # Early and unlocked (the body may take minutes): checked again, locked, once it is stored.
        await uploads.check_quota_before_upload(resources, user.id, request.content_length)
        received, passed = await upload_stream.receive_file(
            request.stream(),
            request.headers.get("content-type"),
            request.content_length,
            storage=resources.storage,
            redis=resources.redis,
            settings=resources.settings,
            kind=self.kind,
            media_id=media_id,
            owner_id=user.id,
        )
        media = uploads.new_media(
            owner_id=user.id,
            kind=self.kind,
            filename=received.filename,
            content_type=received.content_type,
            size=received.size,
            media_id=media_id,
            external_id=passed.external_id,
            metadata=passed.metadata,
        )
        await uploads.check_quota_after_upload(db, resources.storage, resources.settings, media)
        await transitions.create_uploaded(db, media)
        return await queued_answer(db, media)

    @post(
        "/{media_id:uuid}/parts",
        status_code=200,
        summary="Fresh part URLs for what is missing, and the parts already stored",
        responses=problem_docs(401, 404, 409),
    )
    async def parts(
        self, media_id: FromPath[uuid.UUID], user: CurrentUser, db: Db, resources: AppResources
    ) -> ResumeParts:
        media = await repository.get_owned(db, media_id, user.id, self.kind)
        return await uploads.resume_parts(resources.storage, resources.settings, media)

    @post(
        "/{media_id:uuid}/complete",
        status_code=202,
        summary="Check the stored upload and queue processing (idempotent)",
        responses=problem_docs(400, 401, 404, 409, 422, 429),
    )
    async def complete(
        self,
        media_id: FromPath[uuid.UUID],
        user: CurrentUser,
        db: Db,
        resources: AppResources,
        data: JSONBody[CompleteUpload | None] = None,
    ) -> MediaQueued:
        media = await repository.get_owned(db, media_id, user.id, self.kind, lock=True)
        await uploads.complete(
            db, resources.storage, resources.settings, media, data.parts if data else None
        )
        return await queued_answer(db, media)

    @get("/", summary="The caller's {noun}s, newest first", responses=problem_docs(401, 422))
    async def list_media(
        self,
        user: CurrentUser,
        db: Db,
        status: FromQuery[MediaStatus | None] = None,
        external_id: Annotated[
            str | None,
            QueryParameter(max_length=255, description="Only items created with this external_id."),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        cursor: Annotated[
            str | None, QueryParameter(description="`next_cursor` of the previous page.")
        ] = None,
    ) -> MediaPage:
        page = await repository.list_page(
            db,
            user.id,
            self.kind,
            status=status,
            external_id=external_id,
            limit=limit,
            cursor=cursor,
        )
        positions = await repository.queue_positions(db, page.items)
        return MediaPage(
            items=[MediaOut.of(item, queue_position=positions.get(item.id)) for item in page.items],
            next_cursor=page.next_cursor,
        )

    @get(
        "/{media_id:uuid}",
        summary="One {noun}",
        guards=[viewer_access],
        responses=problem_docs(401, 404),
    )
    async def get_one(self, media_id: FromPath[uuid.UUID], user: CurrentUser, db: Db) -> MediaOut:
        media = await repository.get_owned(db, media_id, user.id, self.kind)
        return MediaOut.of(media, queue_position=await repository.queue_position(db, media))

    @post(
        "/{media_id:uuid}/cancel",
        status_code=202,
        summary="Cancel: a running job is aborted, the status becomes canceled",
        responses=problem_docs(401, 404, 409),
    )
    async def cancel(self, media_id: FromPath[uuid.UUID], user: CurrentUser, db: Db) -> MediaOut:
        media = await repository.get_owned(db, media_id, user.id, self.kind, lock=True)
        await service.cancel(db, media)
        return MediaOut.of(media)

    @post(
        "/{media_id:uuid}/retry",
        status_code=202,
        summary="Queue a failed or canceled item again",
        responses=problem_docs(401, 404, 409, 429),
    )
    async def retry(
        self, media_id: FromPath[uuid.UUID], user: CurrentUser, db: Db, resources: AppResources
    ) -> MediaQueued:
        media = await repository.get_owned(db, media_id, user.id, self.kind, lock=True)
        await service.retry(db, resources.settings, media)
        return await queued_answer(db, media)

    @delete(
        "/{media_id:uuid}",
        status_code=204,
        summary="Abort any job and delete every stored object and the item",
        responses=problem_docs(401, 404),
    )
    async def remove(
        self, media_id: FromPath[uuid.UUID], user: CurrentUser, db: Db, resources: AppResources
    ) -> None:
        media = await repository.get_owned(db, media_id, user.id, self.kind, lock=True)
        await service.delete(db, resources.storage, resources.settings, media)

    @get(
        "/{media_id:uuid}/download",
        status_code=307,
        summary="Redirect to a short-lived download URL of the source or a rendition",
        guards=[viewer_access],
        responses=problem_docs(401, 404, 409),
    )
    async def download(
        self,
        media_id: FromPath[uuid.UUID],
        user: CurrentUser,
        db: Db,
        resources: AppResources,
        rendition: Annotated[
            str,
            QueryParameter(description="`source`, `mp4`, or an output name like `720p`."),
        ] = "source",
    ) -> Redirect:
        media = await repository.get_owned(db, media_id, user.id, self.kind)
        url = await playback.download_url(resources.storage, resources.settings, media, rendition)
        return Redirect(url, status_code=307)

    @get(
        "/{media_id:uuid}/hls/{playlist:str}",
        media_type=HLS_TYPE,
        summary="HLS master (master.m3u8) or variant ({{name}}.m3u8) playlist",
        description="Videos only (an image answers 404); 409 until `playable`. While the video "
        "is still processing, the variants grow (no `#EXT-X-ENDLIST` yet) and are not cached.",
        guards=[viewer_access],
        responses=problem_docs(401, 404, 409),
    )
    async def hls(
        self,
        media_id: FromPath[uuid.UUID],
        playlist: FromPath[str],
        user: CurrentUser,
        db: Db,
        resources: AppResources,
        token: Annotated[
            str | None,
            QueryParameter(description="A viewer token, instead of a key or a session."),
        ] = None,
    ) -> Response[str]:
        media = await repository.get_owned(db, media_id, user.id, self.kind)
        if not playlist.endswith(".m3u8"):
            raise Problem(404, "Playlists end in .m3u8.", code="not_found")
        name = playlist.removesuffix(".m3u8")
        if name == "master":
            text = await playback.master_playlist(resources.storage, media)
            if token and user.credential == Credential.VIEWER_TOKEN:
                text = tokens.carry_token(text, token)
        else:
            text = await playback.variant_playlist(
                resources.storage, resources.settings, media, name
            )
        return Response(
            text, media_type=HLS_TYPE, headers={"Cache-Control": playback.cache_control(media)}
        )


class VideoController(MediaController):
    path = "/videos"
    tags = ["videos"]
    kind = MediaKind.VIDEO
    a_noun = "a video"


class ImageController(MediaController):
    path = "/images"
    tags = ["images"]
    kind = MediaKind.IMAGE
    a_noun = "an image"


async def queued_answer(db: AsyncSession, media: m.Media) -> MediaQueued:
    position = await repository.queue_position(db, media)
    return MediaQueued.of(media, queue_position=position, job_id=media.job_id)

"""Controllers for /videos and /images: parse, authorize, call the service, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Response, delete, get, post
from litestar.params import Parameter
from litestar.response import Redirect
from reelay_core import events, jobs
from reelay_core.db.models import MediaKind, MediaStatus
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_api.auth.security import AuthUser
from reelay_api.media import playback, service
from reelay_api.media.schemas import CompleteUpload, CreateMedia, media_out
from reelay_api.problems import Problem
from reelay_api.resources import Resources

HLS_TYPE = "application/vnd.apple.mpegurl"


def make_media_controller(kind: MediaKind, path: str) -> type[Controller]:
    class MediaController(Controller):
        tags = [path.strip("/")]

        @post("/", status_code=201, summary=f"Start a {kind} upload: a presigned POST or multipart URLs")
        async def create(self, data: CreateMedia, user: AuthUser, db: AsyncSession, resources: Resources) -> dict[str, Any]:
            media, upload, record = await service.create(
                db, resources.storage, resources.settings, owner_id=user.id, kind=kind,
                filename=data.filename, content_type=data.content_type, size=data.size,
            )
            await db.commit()
            await events.publish(resources.redis, record)
            return {**media_out(media), "upload": upload}

        @post("/{media_id:uuid}/parts", status_code=200, summary="Fresh part URLs and the parts already stored")
        async def parts(self, media_id: uuid.UUID, user: AuthUser, db: AsyncSession, resources: Resources) -> dict[str, Any]:
            media = await service.get_owned(db, media_id, user.id, kind)
            return await service.resume_parts(resources.storage, resources.settings, media)

        @post("/{media_id:uuid}/complete", status_code=202, summary="Check the upload and queue processing")
        async def complete(
            self, media_id: uuid.UUID, user: AuthUser, db: AsyncSession, resources: Resources,
            data: CompleteUpload | None = None,
        ) -> dict[str, Any]:
            media = await service.get_owned(db, media_id, user.id, kind)
            record = await service.complete(db, resources.storage, media, data.parts if data else None)
            await db.commit()
            if media.status == MediaStatus.QUEUED:
                # Enqueue after commit; the job id makes a repeated call a no-op.
                await jobs.enqueue_transcode(resources.redis, media.id, media.attempt)
            await events.publish(resources.redis, record)
            return {**media_out(media, queue_position=await service.queue_position(db, media)), "job_id": media.job_id}

        @get("/", summary=f"The caller's {kind}s, newest first")
        async def list_media(
            self, user: AuthUser, db: AsyncSession,
            status: MediaStatus | None = None,
            limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
            cursor: str | None = None,
        ) -> dict[str, Any]:
            page = await service.list_page(db, user.id, kind, status=status, limit=limit, cursor=cursor)
            return {
                "items": [media_out(item, queue_position=await service.queue_position(db, item)) for item in page.items],
                "next_cursor": page.next_cursor,
            }

        @get("/{media_id:uuid}", summary=f"One {kind}")
        async def get_one(self, media_id: uuid.UUID, user: AuthUser, db: AsyncSession) -> dict[str, Any]:
            media = await service.get_owned(db, media_id, user.id, kind)
            return media_out(media, queue_position=await service.queue_position(db, media))

        @post("/{media_id:uuid}/cancel", status_code=202, summary="Abort processing")
        async def cancel(self, media_id: uuid.UUID, user: AuthUser, db: AsyncSession, resources: Resources) -> dict[str, Any]:
            media = await service.get_owned(db, media_id, user.id, kind)
            record = await service.cancel(db, media)
            await db.commit()
            await service.abort_job(resources.redis, media.job_id)
            await events.publish(resources.redis, record)
            return media_out(media)

        @post("/{media_id:uuid}/retry", status_code=202, summary="Queue a failed or canceled item again")
        async def retry(self, media_id: uuid.UUID, user: AuthUser, db: AsyncSession, resources: Resources) -> dict[str, Any]:
            media = await service.get_owned(db, media_id, user.id, kind)
            record = await service.retry(db, media)
            await db.commit()
            await jobs.enqueue_transcode(resources.redis, media.id, media.attempt)
            await events.publish(resources.redis, record)
            return {**media_out(media, queue_position=await service.queue_position(db, media)), "job_id": media.job_id}

        @delete("/{media_id:uuid}", status_code=204, summary="Abort any job and delete every stored object")
        async def remove(self, media_id: uuid.UUID, user: AuthUser, db: AsyncSession, resources: Resources) -> None:
            media = await service.get_owned(db, media_id, user.id, kind)
            await service.delete(db, resources.storage, resources.redis, media)

        @get("/{media_id:uuid}/download", status_code=307, summary="Redirect to a short-lived download URL")
        async def download(
            self, media_id: uuid.UUID, user: AuthUser, db: AsyncSession, resources: Resources,
            rendition: str = "source",
        ) -> Redirect:
            media = await service.get_owned(db, media_id, user.id, kind)
            url = await playback.download_url(resources.storage, resources.settings, media, rendition)
            return Redirect(url, status_code=307)

        @get("/{media_id:uuid}/hls/{playlist:str}", summary="HLS master or variant playlist", media_type=HLS_TYPE)
        async def hls(self, media_id: uuid.UUID, playlist: str, user: AuthUser, db: AsyncSession, resources: Resources) -> Response[str]:
            media = await service.get_owned(db, media_id, user.id, kind)
            if not playlist.endswith(".m3u8"):
                raise Problem(404, "Playlists end in .m3u8.", code="not_found")
            name = playlist.removesuffix(".m3u8")
            if name == "master":
                text = await playback.master_playlist(resources.storage, media)
            else:
                text = await playback.variant_playlist(resources.storage, resources.settings, media, name)
            return Response(text, media_type=HLS_TYPE, headers={"Cache-Control": "private, max-age=60"})

    MediaController.path = path
    MediaController.__name__ = f"{kind.value.title()}Controller"
    return MediaController

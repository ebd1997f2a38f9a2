"""Request and response bodies of /videos and /images, exactly as docs/api.md describes them.

Typed models rather than dicts so that /schema documents every answer with an example.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from reelay_core.db import models as m
from reelay_core.db.models import MediaKind, MediaStatus
from reelay_core.media.outputs import Rendition, renditions

from reelay_api.media.formats import FILENAME_PATTERN

MAX_METADATA_BYTES = 4096


def small_object(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_METADATA_BYTES:
        raise ValueError(
            f"metadata is {size} bytes as compact JSON; at most {MAX_METADATA_BYTES} are kept. "
            "Store large data in your own app and pass its id as external_id."
        )
    return value


# The caller's own reference and a passthrough object, set at creation, returned as they are.
ExternalId = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=255,
        description="Your own id for this item (e.g. your user's upload id); filter by it.",
        examples=["order-1234"],
    ),
]
Metadata = Annotated[
    dict[str, Any],
    AfterValidator(small_object),
    Field(
        description=f"A JSON object of yours, at most {MAX_METADATA_BYTES} bytes as compact JSON.",
        examples=[{"user_id": "u_42"}],
    ),
]

# -- requests ------------------------------------------------------------------------------------


class CreateMedia(BaseModel):
    filename: Annotated[
        str,
        Field(min_length=1, max_length=255, pattern=FILENAME_PATTERN, examples=["clip.mp4"]),
    ]
    content_type: Annotated[str, Field(min_length=3, max_length=127, examples=["video/mp4"])]
    size: Annotated[
        int, Field(gt=0, description="Exact size of the file in bytes.", examples=[1048576])
    ]
    external_id: ExternalId = None
    metadata: Metadata = Field(default_factory=dict)
    upload_ttl_seconds: Annotated[
        int | None,
        Field(
            ge=60,
            description="How long the upload URLs stay valid, in seconds: at least 60, at most "
            "the server's REELAY_PRESIGN_TTL_SECONDS (its default).",
            examples=[600],
        ),
    ] = None


class CompletedPart(BaseModel):
    part_number: Annotated[int, Field(ge=1, le=10000, examples=[1])]
    etag: Annotated[
        str, Field(min_length=1, max_length=128, examples=['"9b2cf535f27731c974343645a3985328"'])
    ]


class CompleteUpload(BaseModel):
    parts: Annotated[
        list[CompletedPart] | None,
        Field(description="Multipart uploads only: every part with the ETag storage returned."),
    ] = None


# -- the media object ----------------------------------------------------------------------------


class MediaError(BaseModel):
    code: Annotated[str, Field(examples=["invalid_media"])]
    message: Annotated[str | None, Field(examples=["The file is not a readable video."])]


class SourceInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    duration: Annotated[float | None, Field(examples=[10.0])] = None
    width: Annotated[int | None, Field(examples=[1280])] = None
    height: Annotated[int | None, Field(examples=[720])] = None
    video_codec: Annotated[str | None, Field(examples=["h264"])] = None
    audio_codec: Annotated[str | None, Field(examples=["aac"])] = None


class Output(BaseModel):
    """A `Rendition` as clients see it: without its storage key (they reach outputs through
    /download and /hls). Downloadable ones also carry `filename`, as an extra field, so that an
    HLS variant's answer has no `filename` at all rather than a null one."""

    model_config = ConfigDict(extra="allow")

    name: Annotated[str, Field(examples=["720p"])]
    kind: Annotated[str, Field(examples=["hls_variant"])]
    width: Annotated[int | None, Field(examples=[1280])] = None
    height: Annotated[int | None, Field(examples=[720])] = None
    bitrate: Annotated[int | None, Field(examples=[2800000])] = None
    size: Annotated[int | None, Field(examples=[3456789])] = None

    @classmethod
    def of(cls, rendition: Rendition) -> Self:
        return cls(**rendition.public_json())


class MediaOut(BaseModel):
    id: uuid.UUID
    kind: MediaKind
    filename: Annotated[str, Field(examples=["clip.mp4"])]
    content_type: Annotated[str, Field(examples=["video/mp4"])]
    size: Annotated[int, Field(examples=[1048576])]
    status: MediaStatus
    progress: Annotated[
        float,
        Field(ge=0, le=100, examples=[42.5], description="Never decreases within one attempt."),
    ]
    # A plain string rather than a Literal: a stage added to the worker must not break reads.
    stage: Annotated[
        str | None,
        Field(examples=["transcode"], description="probe, transcode, package, upload or null."),
    ]
    eta_seconds: Annotated[int | None, Field(examples=[12], description="Null when unknown.")]
    queue_position: Annotated[
        int | None, Field(examples=[0], description="While queued: jobs ahead of it; else null.")
    ]
    attempts: Annotated[
        int,
        Field(
            examples=[1],
            description="Attempts so far, this one included; a job handed back by a stopping "
            "worker does not count.",
        ),
    ]
    playable: Annotated[
        bool,
        Field(
            examples=[False],
            description="True once the HLS master playlist can be played: as soon as the first "
            "seconds of every rendition are stored, while the rest is still processing.",
        ),
    ]
    playable_at: Annotated[
        datetime | None, Field(description="When it became playable; null until then.")
    ]
    error: MediaError | None
    source: Annotated[SourceInfo | None, Field(description="Null before probing.")]
    outputs: list[Output]
    external_id: Annotated[str | None, Field(examples=["order-1234"])]
    metadata: Annotated[dict[str, Any], Field(examples=[{"user_id": "u_42"}])]
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, media: m.Media, *, queue_position: int | None = None, **extra: Any) -> Self:
        """The answer for `media`; `extra` fills the fields a subclass adds (job_id, upload)."""
        return cls(
            **extra,
            id=media.id,
            kind=media.kind,
            filename=media.filename,
            content_type=media.content_type,
            size=media.size,
            status=media.status,
            progress=round(media.progress, 2),
            stage=media.stage,
            eta_seconds=media.eta_seconds,
            queue_position=queue_position,
            attempts=media.attempts,
            playable=media.playable,
            playable_at=media.playable_at or (media.completed_at if media.playable else None),
            error=(
                MediaError(code=media.error_code, message=media.error_message)
                if media.error_code
                else None
            ),
            source=SourceInfo(**media.source) if media.source else None,
            outputs=[Output.of(rendition) for rendition in renditions(media.outputs)],
            external_id=media.external_id,
            metadata=media.client_metadata or {},
            created_at=media.created_at,
            updated_at=media.updated_at,
            completed_at=media.completed_at,
        )


class MediaQueued(MediaOut):
    job_id: Annotated[
        str | None, Field(examples=["transcode:6f1c0b1e-2d4a-4f7e-9a51-0c8f8e4b7c11:1"])
    ]


class MediaPage(BaseModel):
    items: list[MediaOut]
    next_cursor: Annotated[
        str | None, Field(description="Pass as `cursor` for the next page; null on the last page.")
    ]


# -- upload instructions -------------------------------------------------------------------------


class PresignedPost(BaseModel):
    method: Literal["POST"] = "POST"
    url: Annotated[str, Field(examples=["http://127.0.0.1:8333/reelay"])]
    fields: Annotated[
        dict[str, str],
        Field(
            description="Send these form fields first and the file last, as field `file`.",
            examples=[
                {
                    "key": "media/6f1c.../source.mp4",
                    "Content-Type": "video/mp4",
                    "policy": "eyJleHBpcmF0aW9uIjog...",
                    "x-amz-signature": "5d67...",
                }
            ],
        ),
    ]
    expires_at: datetime


class PartUrl(BaseModel):
    part_number: Annotated[int, Field(examples=[1])]
    size: Annotated[int, Field(examples=[16777216], description="Exact bytes this URL accepts.")]
    url: Annotated[
        str,
        Field(
            examples=["http://127.0.0.1:8333/reelay/media/.../source.mp4?partNumber=1&uploadId=..."]
        ),
    ]


class StoredPartOut(BaseModel):
    part_number: int
    etag: str
    size: int


class MultipartUpload(BaseModel):
    method: Literal["multipart"] = "multipart"
    upload_id: str
    part_size: Annotated[
        int, Field(examples=[16777216], description="Every part but the last has this size.")
    ]
    parts: Annotated[list[PartUrl], Field(description="PUT each part here and keep its ETag.")]
    expires_at: datetime


class ResumeParts(MultipartUpload):
    stored_parts: Annotated[
        list[StoredPartOut], Field(description="Parts storage already has; skip them.")
    ]


class MediaCreated(MediaOut):
    upload: Annotated[PresignedPost | MultipartUpload, Field(discriminator="method")]

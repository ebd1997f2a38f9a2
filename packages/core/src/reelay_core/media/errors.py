"""Permanent rejections of an uploaded file: retrying cannot make these succeed."""

from typing import Literal

RejectionCode = Literal[
    "invalid_media",
    "unsupported_format",
    "no_video_stream",
    "too_long",
    "resolution_too_large",
    "too_much_memory",  # needs more than REELAY_FFMPEG_MEMORY_MB
    "processing_timeout",  # took longer than its time budget
    "source_changed",  # the stored source is not the one `complete` checked
]


class MediaRejected(Exception):
    """The file is not acceptable; `message` is written for the uploader, `detail` for logs."""

    def __init__(self, code: RejectionCode, message: str, *, detail: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = detail

"""Which files each media kind accepts, by extension and declared content type."""

from __future__ import annotations

from pathlib import PurePosixPath

from reelay_core.db.models import MediaKind

# extension -> content types a client may declare for it
ACCEPTED: dict[MediaKind, dict[str, frozenset[str]]] = {
    MediaKind.VIDEO: {
        ".mp4": frozenset({"video/mp4"}),
        ".m4v": frozenset({"video/x-m4v", "video/mp4"}),
        ".mov": frozenset({"video/quicktime"}),
        ".webm": frozenset({"video/webm"}),
        ".mkv": frozenset({"video/x-matroska", "video/matroska"}),
        ".avi": frozenset({"video/x-msvideo", "video/avi", "video/msvideo"}),
    },
    MediaKind.IMAGE: {
        ".jpg": frozenset({"image/jpeg"}),
        ".jpeg": frozenset({"image/jpeg"}),
        ".png": frozenset({"image/png"}),
        ".webp": frozenset({"image/webp"}),
        ".gif": frozenset({"image/gif"}),
    },
}


def extension_of(filename: str) -> str:
    return PurePosixPath(filename).suffix.lower()


def rejection(kind: MediaKind, filename: str, content_type: str) -> str | None:
    """Why this file is not accepted, or None when it is."""
    accepted = ACCEPTED[kind]
    ext = extension_of(filename)
    declared = content_type.split(";")[0].strip().lower()
    if ext not in accepted:
        return f"{ext or 'no extension'} is not a supported {kind} type; use one of " + ", ".join(
            sorted(accepted)
        )
    if declared not in accepted[ext]:
        return f"content type {declared!r} does not match a {ext} file; expected " + " or ".join(
            sorted(accepted[ext])
        )
    return None

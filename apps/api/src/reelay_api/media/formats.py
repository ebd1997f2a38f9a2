"""Which files each media kind accepts, by extension and declared content type."""

from __future__ import annotations

from pathlib import PurePosixPath

from reelay_core.db.models import MediaKind

# extension -> content types a client may declare for it, the usual one first
ACCEPTED: dict[MediaKind, dict[str, tuple[str, ...]]] = {
    MediaKind.VIDEO: {
        ".mp4": ("video/mp4",),
        ".m4v": ("video/x-m4v", "video/mp4"),
        ".mov": ("video/quicktime",),
        ".webm": ("video/webm",),
        ".mkv": ("video/x-matroska", "video/matroska"),
        ".avi": ("video/x-msvideo", "video/avi", "video/msvideo"),
    },
    MediaKind.IMAGE: {
        ".jpg": ("image/jpeg",),
        ".jpeg": ("image/jpeg",),
        ".png": ("image/png",),
        ".webp": ("image/webp",),
        ".gif": ("image/gif",),
    },
}


def extension_of(filename: str) -> str:
    return PurePosixPath(filename).suffix.lower()


# No control characters: NUL cannot be stored in PostgreSQL text, and CR/LF would reach headers.
FILENAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"
FILENAME_RULE = "The filename must not contain control characters (NUL, newlines, tabs)."


def rejection(kind: MediaKind, filename: str, content_type: str) -> str | None:
    """Why this file is not accepted, or None when it is."""
    accepted = ACCEPTED[kind]
    ext = extension_of(filename)
    declared = content_type.split(";")[0].strip().lower()
    if ext not in accepted:
        what = f"Files ending in {ext}" if ext else "Files without an extension"
        return f"{what} are not accepted as {kind}s; use one of " + ", ".join(sorted(accepted))
    if declared not in accepted[ext]:
        return f"The content type {declared!r} does not match a {ext} file; expected " + (
            " or ".join(accepted[ext])
        )
    return None


def usual_type(kind: MediaKind, filename: str) -> str | None:
    """The content type a file of this name normally has, for clients that declare none."""
    types = ACCEPTED[kind].get(extension_of(filename))
    return types[0] if types else None

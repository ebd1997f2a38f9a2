"""reelay ls / get / download / cancel / retry / rm."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from reelay_cli.client.api import KINDS, ApiError, storage_client
from reelay_cli.client.outputs import outputs_of
from reelay_cli.client.progress import ByteBar, byte_bars, error_text, stderr
from reelay_cli.commands.common import (
    JsonOption,
    ServerOption,
    client,
    fail,
    print_json,
    reports_errors,
)
from reelay_cli.commands.processing import WaitOption, show, wait_for

IdArgument = Annotated[str, typer.Argument(metavar="ID")]


@reports_errors
def ls(
    status: Annotated[str | None, typer.Option(help="Only items in this status.")] = None,
    kind: Annotated[str | None, typer.Option(help="videos or images (default: both).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many items.")] = 20,
    as_json: JsonOption = False,
    server: ServerOption = None,
) -> None:
    """List your media, newest first."""
    kinds = KINDS if kind is None else (kind if kind.endswith("s") else f"{kind}s",)
    with client(server) as api:
        items = [item for k in kinds for item in api.list(k, status=status, limit=limit)]
    items = sorted(items, key=lambda m: m["created_at"], reverse=True)[:limit]
    if as_json:
        print_json(items)
        return
    rows = [("ID", "KIND", "STATUS", "PROGRESS", "CREATED", "FILENAME")] + [
        (m["id"], m["kind"], m["status"], f"{m['progress']:.0f}%", m["created_at"], m["filename"])
        for m in items
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        typer.echo(
            "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
        )


@reports_errors
def get(media_id: IdArgument, as_json: JsonOption = False, server: ServerOption = None) -> None:
    """Show one item: only what applies to its kind and state."""
    with client(server) as api:
        _, media = api.find(media_id)
    if as_json:
        print_json(media)
        return
    typer.echo("\n".join(describe(media)))


# The source facts that mean something for each kind: an image has no duration or codecs.
SOURCE_FIELDS = {
    "video": ("duration", "width", "height", "video_codec", "audio_codec"),
    "image": ("width", "height"),
}


def describe(media: dict[str, Any]) -> list[str]:
    lines = [f"{k}: {media[k]}" for k in ("id", "kind", "filename", "size", "status")]
    if media["status"] in ("queued", "processing"):
        lines.append(f"progress: {media['progress']:.0f}%")
        for key in ("stage", "eta_seconds", "queue_position"):
            if media.get(key) is not None:
                lines.append(f"{key}: {media[key]}")
    if media["kind"] == "video" and media.get("playable") is not None:
        lines.append(f"playable: {'yes' if media['playable'] else 'no'}")
    lines.append(f"attempts: {media.get('attempts', 0)}")
    if media.get("error"):
        lines.append(f"error: {error_text(media['error'])}")
    source = media.get("source") or {}
    known = [k for k in SOURCE_FIELDS.get(media["kind"], ()) if source.get(k) is not None]
    if known:
        lines.append("source: " + ", ".join(f"{k}={source[k]}" for k in known))
    for out in outputs_of(media):
        size = f", {out.width}x{out.height}" if out.width else ""
        lines.append(f"output: {out.name} ({out.kind}{size})")
    return lines


def default_rendition(media: dict[str, Any]) -> str:
    """The MP4 of a video, the largest WebP of an image, else the uploaded source."""
    outputs = outputs_of(media)
    if media["kind"] == "video" and any(o.kind == "mp4" for o in outputs):
        return "mp4"
    webps = [o for o in outputs if o.kind == "webp"]
    if webps:
        return max(webps, key=lambda o: o.width or 0).name
    return "source"


def file_name(media: dict[str, Any], rendition: str, disposition: str | None) -> str:
    """The name storage suggests, unless a rendition would take the uploaded file's own name."""
    original = Path(media["filename"]).name
    if disposition and (found := re.search(r'filename="?([^";]+)"?', disposition)):
        suggested = Path(found.group(1)).name
        if suggested and (rendition == "source" or suggested != original):
            return suggested
    if rendition == "source":
        return original
    stem, suffix = Path(original).stem, Path(original).suffix
    return f"{stem}-{rendition}{suffix}"


def target_path(output: Path | None, name: str) -> Path:
    """-o FILE is written as asked; otherwise an existing file is never replaced."""
    if output is not None and not output.is_dir():
        return output
    path = (output or Path()) / name
    if path.exists():
        fail(f"{path} already exists; choose where to write with -o")
    return path


@reports_errors
def download(
    media_id: IdArgument,
    rendition: Annotated[
        str | None,
        typer.Option(
            help="source, mp4 or an output name (default: a video's MP4, an image's largest WebP)."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File or directory to write to.")
    ] = None,
    server: ServerOption = None,
) -> None:
    """Download a rendition (or the source) of an item; prints the path written."""
    with client(server) as api:
        kind, media = api.find(media_id)
        chosen = rendition or default_rendition(media)
        url = api.download_url(kind, media_id, chosen)
    with storage_client() as storage, storage.stream("GET", url) as answer:
        if answer.status_code != 200:
            answer.read()
            raise ApiError(f"storage refused the download (HTTP {answer.status_code})")
        name = file_name(media, chosen, answer.headers.get("content-disposition"))
        path = target_path(output, name)
        partial = path.with_name(path.name + ".part")
        total = int(answer.headers.get("content-length") or 0) or None
        with byte_bars() as bars, partial.open("wb") as file:
            advance = ByteBar(bars, path.name, total)
            for chunk in answer.iter_bytes(256 * 1024):
                file.write(chunk)
                advance(len(chunk))
        partial.replace(path)
    typer.echo(str(path))


@reports_errors
def cancel(media_id: IdArgument, as_json: JsonOption = False, server: ServerOption = None) -> None:
    """Stop processing an item (the FFmpeg job is killed)."""
    with client(server) as api:
        kind, _ = api.find(media_id)
        show(api.cancel(kind, media_id), as_json)


@reports_errors
def retry(
    media_id: IdArgument,
    wait: WaitOption = False,
    as_json: JsonOption = False,
    server: ServerOption = None,
) -> None:
    """Queue a failed or canceled item again; --wait follows it to its end."""
    with client(server) as api:
        kind, _ = api.find(media_id)
        queued = api.retry(kind, media_id)
        if wait:
            wait_for(api, [queued], as_json)
            return
        show(queued, as_json)


@reports_errors
def rm(media_id: IdArgument, server: ServerOption = None) -> None:
    """Delete an item and every stored file of it."""
    with client(server) as api:
        kind, media = api.find(media_id)
        api.delete(kind, media_id)
    stderr.print(f"Deleted {media['filename']} ({media_id}).")

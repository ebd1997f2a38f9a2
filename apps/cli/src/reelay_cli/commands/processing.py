"""reelay upload / watch: send files, then follow processing live over SSE, through restarts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from reelay_cli.client import upload as uploads
from reelay_cli.client.api import ApiError, ReelayClient
from reelay_cli.client.events import follow
from reelay_cli.client.progress import ByteBar, TranscodeView, byte_bars, error_text, transcode_bars
from reelay_cli.commands.common import (
    JsonOption,
    ServerOption,
    client,
    fail,
    print_json,
    reports_errors,
)

WaitOption = Annotated[
    bool, typer.Option("--wait", help="Follow processing to its end, through server restarts.")
]


def collection(media: dict[str, Any]) -> str:
    return "images" if media.get("kind") == "image" else "videos"


def summary(media: dict[str, Any]) -> str:
    return f"{media['id']}\t{media['status']}\t{media['filename']}"


def show(media: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(media)
    else:
        typer.echo(summary(media))


def wait_for(
    api: ReelayClient,
    items: list[dict[str, Any]],
    as_json: bool,
    queued_at: dict[str, float] | None = None,
) -> None:
    """Follow each item to its end; exit non-zero naming every item that did not complete.
    `queued_at` (monotonic, by id): when we queued them, to say how soon each was playable."""
    problems = []
    with transcode_bars() as bars:
        for media in items:
            kind = collection(media)
            view = TranscodeView(bars, media["filename"], (queued_at or {}).get(media["id"]))
            follow(api, kind, media["id"], view)
    for media in items:
        final = api.get(collection(media), media["id"])
        show(final, as_json)
        if final["status"] == "failed":
            problems.append(f"{final['filename']} failed: {error_text(final.get('error') or {})}")
        elif final["status"] != "completed":
            problems.append(f"{final['filename']} was {final['status']}")
    if problems:
        fail("; ".join(problems))


@reports_errors
def upload(
    files: Annotated[
        list[Path],
        typer.Argument(exists=True, dir_okay=False, readable=True, help="Videos and images."),
    ],
    wait: WaitOption = False,
    as_json: JsonOption = False,
    server: ServerOption = None,
) -> None:
    """Upload files straight to storage (images by extension go to /images) and queue them.

    Large files go up in parts; an interrupted upload resumes when the command is run again.
    """
    for path in files:
        if path.stat().st_size == 0:
            fail(f"{path}: the file is empty (0 bytes); there is nothing to upload")
    with client(server) as api:
        queued = []
        queued_at: dict[str, float] = {}
        with byte_bars() as bars:
            for path in files:
                advance = ByteBar(bars, path.name, path.stat().st_size)
                try:
                    queued.append(uploads.upload(api, path, advance, notice=bars.console.print))
                except ApiError as exc:
                    raise ApiError(f"{path}: {exc}", status=exc.status, code=exc.code) from None
                queued_at[queued[-1]["id"]] = time.monotonic()
        if wait:
            wait_for(api, queued, as_json, queued_at)
            return
        for media in queued:
            show(media, as_json)


@reports_errors
def watch(
    media_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonOption = False,
    server: ServerOption = None,
) -> None:
    """Follow one item's processing live until it completes, fails or is canceled.

    A lost connection (the server restarting) is retried until the item ends or Ctrl-C.
    """
    with client(server) as api:
        _, media = api.find(media_id)
        wait_for(api, [media], as_json)

"""reelay webhooks create / list / delete / deliveries / redeliver / ping / listen."""

from __future__ import annotations

import secrets
import sys
import time
from datetime import datetime
from typing import Annotated

import httpx
import typer
from httpx_sse import connect_sse

from reelay_cli.client.api import STREAM_TIMEOUT, ApiError, ReelayClient
from reelay_cli.commands.common import JsonOption, ServerOption, client, print_json, reports_errors
from reelay_cli.webhooks import sign

EVENT_TYPES = (
    "media.queued",
    "media.playable",
    "media.completed",
    "media.failed",
    "media.canceled",
    "media.deleted",
)
RECONNECT_SECONDS = 2.0

app = typer.Typer(
    help="Signed webhooks: endpoints, their deliveries, and `listen` for local development.",
    no_args_is_help=True,
)
IdArgument = Annotated[str, typer.Argument(metavar="WEBHOOK_ID")]


def table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        typer.echo("  ".join([*cells, row[-1]]))


@app.command()
@reports_errors
def create(
    url: Annotated[str, typer.Argument(help="Where to POST events (http or https).")],
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event",
            "-e",
            help=f"An event type, repeatable (default: all of {', '.join(EVENT_TYPES)}).",
        ),
    ] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
) -> None:
    """Add an endpoint; prints its signing secret, which is shown only now."""
    with client(server) as api:
        created = api.json(
            "POST",
            "/webhooks",
            json={"url": url, "events": event or list(EVENT_TYPES)},
            expect=(201,),
        )
    if as_json:
        print_json(created)
        return
    typer.echo(f"webhook {created['id']} → {created['url']}")
    typer.echo(f"events: {', '.join(created['events'])}")
    typer.echo(f"secret: {created['secret']}  (shown only now: keep it to verify signatures)")


@app.command("list")
@reports_errors
def list_webhooks(as_json: JsonOption = False, server: ServerOption = None) -> None:
    """Your endpoints (never their secrets)."""
    with client(server) as api:
        items = api.json("GET", "/webhooks")["items"]
    if as_json:
        print_json(items)
        return
    rows: list[tuple[str, ...]] = [("ID", "STATE", "EVENTS", "URL")]
    for item in items:
        state = "enabled" if item["enabled"] else "DISABLED"
        rows.append((item["id"], state, ",".join(item["events"]), item["url"]))
    table(rows)
    for item in items:
        if item.get("disabled_reason"):
            typer.echo(f"{item['id']}: {item['disabled_reason']}")


@app.command()
@reports_errors
def delete(webhook_id: IdArgument, server: ServerOption = None) -> None:
    """Delete an endpoint and its delivery log."""
    with client(server) as api:
        api.request("DELETE", f"/webhooks/{webhook_id}", expect=(204,))
    typer.echo(f"deleted webhook {webhook_id}")


@app.command()
@reports_errors
def deliveries(
    webhook_id: IdArgument,
    limit: Annotated[int, typer.Option(min=1, max=100, help="At most this many.")] = 20,
    as_json: JsonOption = False,
    server: ServerOption = None,
) -> None:
    """An endpoint's deliveries, newest first, with why the last attempt failed."""
    with client(server) as api:
        items = api.json("GET", f"/webhooks/{webhook_id}/deliveries", params={"limit": limit})[
            "items"
        ]
    if as_json:
        print_json(items)
        return
    rows: list[tuple[str, ...]] = [
        ("DELIVERY", "CREATED", "TYPE", "STATUS", "TRIES", "HTTP", "EVENT / LAST ERROR")
    ]
    for item in items:
        note = item["event_id"] + (f"  {item['last_error']}" if item.get("last_error") else "")
        rows.append(
            (
                item["id"],
                item["created_at"],
                item["type"],
                item["status"],
                str(item["attempts"]),
                str(item["response_status"] or "-"),
                note,
            )
        )
    table(rows)


@app.command()
@reports_errors
def redeliver(
    webhook_id: IdArgument,
    delivery_id: Annotated[str, typer.Argument(metavar="DELIVERY_ID")],
    server: ServerOption = None,
) -> None:
    """Send a delivery again (same event id; turns a disabled endpoint back on)."""
    with client(server) as api:
        api.request(
            "POST", f"/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", expect=(202,)
        )
    typer.echo(f"delivery {delivery_id} queued again")


@app.command()
@reports_errors
def ping(webhook_id: IdArgument, server: ServerOption = None) -> None:
    """Send a `ping` event to an endpoint (turns a disabled endpoint back on)."""
    with client(server) as api:
        sent = api.json("POST", f"/webhooks/{webhook_id}/ping", expect=(202,))
    typer.echo(f"ping {sent['event_id']} queued; see `reelay webhooks deliveries {webhook_id}`")


@app.command()
@reports_errors
def listen(
    forward_to: Annotated[
        str, typer.Option("--forward-to", help="Local URL to POST each event to, signed.")
    ],
    secret: Annotated[
        str | None,
        typer.Option(
            help="Sign forwarded events with this secret (e.g. your endpoint's); default: a "
            "new one, printed at start."
        ),
    ] = None,
    server: ServerOption = None,
) -> None:
    """Forward your account's events, live, to a local URL, signed as reelay signs them."""
    secret = secret or f"whsec_{secrets.token_urlsafe(32)}"
    print(f"reelay: signing forwarded events with {secret}", file=sys.stderr)
    with client(server) as api, httpx.Client(timeout=30.0, follow_redirects=False) as local:
        while True:
            try:
                forward_events(api, local, forward_to, secret)
            except (httpx.TransportError, ApiError) as exc:
                if isinstance(exc, ApiError) and exc.status is not None:
                    raise
                print(f"reelay: stream lost ({exc}); reconnecting", file=sys.stderr)
                time.sleep(RECONNECT_SECONDS)


def forward_events(api: ReelayClient, local: httpx.Client, url: str, secret: str) -> None:
    with connect_sse(api.http, "GET", "/webhooks/events", timeout=STREAM_TIMEOUT) as source:
        if source.response.status_code != 200:
            source.response.read()
            raise api.refusal(source.response)
        print(f"reelay: listening; forwarding to {url}", file=sys.stderr)
        for sse in source.iter_sse():
            # httpx-sse turns a heartbeat comment into an empty "message" event carrying the
            # last id; only frames with a body are events.
            if not sse.data:
                continue
            typer.echo(forward(local, url, secret, sse.event, sse.id, sse.data))


def forward(local: httpx.Client, url: str, secret: str, kind: str, event_id: str, body: str) -> str:
    """POST one event as reelay would; the line to print about it."""
    headers = {
        "Content-Type": "application/json",
        "Reelay-Event-Id": event_id,
        "Reelay-Signature": sign(body, secret),
    }
    stamp = datetime.now().strftime("%H:%M:%S")
    try:
        answer = local.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return f"{stamp}  {kind:<16} {event_id}  → {url} failed: {str(exc) or type(exc).__name__}"
    return f"{stamp}  {kind:<16} {event_id}  → {answer.status_code} {answer.reason_phrase}"

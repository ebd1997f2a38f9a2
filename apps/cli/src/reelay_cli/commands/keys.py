"""reelay keys create / list / revoke: API keys for your own backend (managed from a login)."""

from __future__ import annotations

from typing import Annotated

import typer

from reelay_cli.commands.common import JsonOption, ServerOption, client, print_json, reports_errors

app = typer.Typer(
    help="API keys for your own backend: `Authorization: Bearer <key>` instead of a password.",
    no_args_is_help=True,
)


@app.command()
@reports_errors
def create(
    name: Annotated[str, typer.Argument(help="Yours to recognise the key by.")],
    scope: Annotated[
        str,
        typer.Option(
            help="`full`: anything your login may do but manage keys; `read`: reads only."
        ),
    ] = "full",
    as_json: JsonOption = False,
    server: ServerOption = None,
) -> None:
    """Make a key; prints it, which happens only now (the server keeps only its hash)."""
    with client(server) as api:
        created = api.json("POST", "/api-keys", json={"name": name, "scope": scope}, expect=(201,))
    if as_json:
        print_json(created)
        return
    typer.echo(f"API key {created['id']} ({created['scope']}): {created['name']}", err=True)
    typer.echo("Shown only now; keep it where your backend reads its secrets:", err=True)
    typer.echo(created["key"])


@app.command("list")
@reports_errors
def list_keys(as_json: JsonOption = False, server: ServerOption = None) -> None:
    """Your keys (never the keys themselves), newest first."""
    with client(server) as api:
        items = api.json("GET", "/api-keys")["items"]
    if as_json:
        print_json(items)
        return
    if not items:
        typer.echo("No API keys; make one with `reelay keys create NAME`.", err=True)
        return
    for key in items:
        used = key["last_used_at"] or "never used"
        typer.echo(f"{key['id']}  {key['scope']:<4}  {used:<32}  {key['name']}")


@app.command()
@reports_errors
def revoke(
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID")], server: ServerOption = None
) -> None:
    """Revoke a key: it stops working at once."""
    with client(server) as api:
        api.request("DELETE", f"/api-keys/{key_id}", expect=(204,))
    typer.echo(f"Revoked API key {key_id}.", err=True)

"""reelay register / login / logout: a token per server, kept in the config dir (0600)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from reelay_cli.client.api import API_KEY_ENV, ApiError, ReelayClient
from reelay_cli.client.config import Config
from reelay_cli.commands.common import ServerOption, reports_errors

EmailOption = Annotated[
    str, typer.Option(prompt=True, envvar="REELAY_EMAIL", help="Account email.")
]


def log_in(config: Config, server: str, email: str, password: str) -> None:
    with ReelayClient(server) as api:
        answer = api.token(email, password)
    config.remember(server, email, answer["access_token"], int(answer.get("expires_in") or 3600))
    typer.echo(f"Logged in to {server} as {email}.", err=True)


def log_in_with_key(config: Config, server: str, key: str) -> None:
    with ReelayClient(server, key) as api:
        me = api.json("GET", "/auth/me")
    config.remember_key(server, me["email"], key)
    typer.echo(f"Logged in to {server} as {me['email']} with an API key.", err=True)


@reports_errors
def login(
    email: Annotated[
        str | None, typer.Option(envvar="REELAY_EMAIL", help="Account email.", show_default=False)
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(envvar="REELAY_PASSWORD", help="Account password.", show_default=False),
    ] = None,
    api_key: Annotated[
        bool,
        typer.Option(
            "--api-key",
            help="Log in with an API key (`reelay keys create`) instead: read from "
            f"${API_KEY_ENV}, else asked for (never an argument, which `ps` would show).",
        ),
    ] = False,
    server: ServerOption = None,
) -> None:
    """Log in and save the token (or API key) for later commands."""
    config = Config.load()
    target = config.resolve_server(server)
    if api_key:
        key = os.environ.get(API_KEY_ENV) or typer.prompt("API key", hide_input=True)
        log_in_with_key(config, target, key.strip())
        return
    email = email or typer.prompt("Email")
    password = password or typer.prompt("Password", hide_input=True)
    log_in(config, target, email, password)


@reports_errors
def register(
    email: EmailOption,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="REELAY_PASSWORD",
            help="At least 8 characters.",
        ),
    ],
    server: ServerOption = None,
) -> None:
    """Create an account, then log in to it."""
    config = Config.load()
    target = config.resolve_server(server)
    with ReelayClient(target) as api:
        api.register(email, password)
    typer.echo(f"Registered {email}.", err=True)
    log_in(config, target, email, password)


@reports_errors
def logout(server: ServerOption = None) -> None:
    """Revoke the saved token at the server and forget it."""
    config = Config.load()
    target = config.resolve_server(server)
    session = config.sessions.get(target)
    if session is not None and not session.expired:
        try:
            with ReelayClient(target, session.token) as api:
                api.logout()
        except ApiError as exc:  # forgotten anyway: this machine keeps no usable login
            typer.echo(
                f"reelay: the server did not revoke the token ({exc}); it stays valid until "
                "it expires",
                err=True,
            )
    config.forget(target)
    typer.echo(f"Logged out of {target}.", err=True)

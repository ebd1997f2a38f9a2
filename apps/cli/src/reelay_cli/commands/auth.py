"""reelay register / login / logout: a token per server, kept in the config dir (0600)."""

from __future__ import annotations

from typing import Annotated

import typer

from reelay_cli.client.api import ApiError, ReelayClient
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


@reports_errors
def login(
    email: EmailOption,
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, envvar="REELAY_PASSWORD", help="Account password."
        ),
    ],
    server: ServerOption = None,
) -> None:
    """Log in and save the token for later commands."""
    config = Config.load()
    log_in(config, config.resolve_server(server), email, password)


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

"""What every HTTP command shares: the --server/--json options, the client, one-line failures."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, TypeVar, cast

import typer

from reelay_cli.client.api import ApiError, ReelayClient
from reelay_cli.client.config import Config, ConfigError

F = TypeVar("F", bound=Callable[..., Any])

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        help="API base URL (default: $REELAY_SERVER, else the last login's server, else http://127.0.0.1:8000).",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the media object(s) as JSON on stdout.")
]


class Failed(Exception):
    """The command ran, but what it waited for did not succeed (e.g. a failed media item)."""


def fail(message: str) -> NoReturn:
    raise Failed(message)


def one_line(message: str) -> str:
    return " ".join(str(message).split())


def reports_errors(command: F) -> F:
    """Exit 1 with `reelay: <reason>` on stderr instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ApiError, ConfigError, Failed) as exc:
            print(f"reelay: {one_line(str(exc))}", file=sys.stderr)
        except OSError as exc:
            reason = f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)
            print(f"reelay: {one_line(reason)}", file=sys.stderr)
        except KeyboardInterrupt:
            print("reelay: interrupted", file=sys.stderr)
            raise typer.Exit(130) from None
        raise typer.Exit(1)

    return cast(F, wrapper)  # functools.wraps keeps the signature typer reads


def client(server: str | None) -> ReelayClient:
    config = Config.load()
    return ReelayClient.logged_in(config, config.resolve_server(server))


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, separators=(",", ":"), sort_keys=True) + "\n")
    sys.stdout.flush()

"""The `reelay` command.

`up` runs the embedded stack; every other command talks only HTTP to a reelay server. Heavy
imports (the stack, settings) happen inside `up`, so the HTTP commands start quickly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reelay_cli.commands import auth, media, processing
from reelay_cli.stack.ports import Ports

app = typer.Typer(
    help="reelay: a self-hostable media pipeline. `reelay up` runs the whole stack locally.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# The heavy stack modules are imported inside `up`: every other command starts faster.
DEFAULT_PORTS = Ports()


@app.callback()
def main() -> None:
    """reelay: a self-hostable media pipeline."""


@app.command()
def up(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where data and secrets live (default: REELAY_DATA_DIR or .reelay)"),
    ] = None,
    host: Annotated[str | None, typer.Option(help="API bind address (default: 127.0.0.1)")] = None,
    port: Annotated[
        int | None, typer.Option(help="API port (default: REELAY_API_PORT or 8000)")
    ] = None,
    s3_port: Annotated[int, typer.Option(help="Embedded SeaweedFS S3 port")] = DEFAULT_PORTS.s3,
    redis_port: Annotated[int, typer.Option(help="Embedded Valkey port")] = DEFAULT_PORTS.redis,
    seaweed_port: Annotated[
        int, typer.Option(help="Embedded SeaweedFS master port (volume and filer use the next two)")
    ] = DEFAULT_PORTS.seaweed,
) -> None:
    """Start PostgreSQL, Valkey, SeaweedFS, the API and a worker; Ctrl-C stops them all.

    Any REELAY_DATABASE_URL, REELAY_REDIS_URL or REELAY_S3_ENDPOINT_URL that is set replaces
    the matching embedded server.
    """
    from reelay_core.settings import Settings

    from reelay_cli.stack.supervisor import run_up

    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if host is not None:
        overrides["api_host"] = host
    if port is not None:
        overrides["api_port"] = port
    settings = Settings().model_copy(update=overrides)
    raise typer.Exit(run_up(settings, Ports(redis=redis_port, s3=s3_port, seaweed=seaweed_port)))


app.command()(auth.register)
app.command()(auth.login)
app.command()(auth.logout)
app.command()(processing.upload)
app.command()(processing.watch)
app.command("ls")(media.ls)
app.command()(media.get)
app.command()(media.download)
app.command()(media.cancel)
app.command()(media.retry)
app.command("rm")(media.rm)


if __name__ == "__main__":
    app()

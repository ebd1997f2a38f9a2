"""reelay up: the embedded stack, from the reelay-stack package.

The one command that imports beyond HTTP: main.py registers it only when reelay-stack is
installed. Settings and the supervisor are imported inside `up`, so the other commands start
quickly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from reelay_stack.ports import Ports

DEFAULT_PORTS = Ports()


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
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log one line per HTTP request")
    ] = False,
) -> None:
    """Start PostgreSQL, Valkey, SeaweedFS, the API and a worker; Ctrl-C stops them all.

    Any REELAY_DATABASE_URL, REELAY_REDIS_URL or REELAY_S3_ENDPOINT_URL that is set replaces
    the matching embedded server.
    """
    from reelay_core.settings import Settings
    from reelay_stack.supervisor import run_up

    overrides: dict[str, object] = {"access_log": access_log}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if host is not None:
        overrides["api_host"] = host
    if port is not None:
        overrides["api_port"] = port
    settings = Settings().model_copy(update=overrides)
    raise typer.Exit(run_up(settings, Ports(redis=redis_port, s3=s3_port, seaweed=seaweed_port)))

"""The `reelay` command.

Every command but `up`, `ffmpeg` and `ffprobe` talks only HTTP to a reelay server. Those three
come with the reelay-stack package (the embedded stack, its FFmpeg); where that is not
installed, they say so.
"""

from __future__ import annotations

import sys

import typer

from reelay_cli.commands import auth, keys, media, processing, tools, webhooks

app = typer.Typer(
    help="reelay: a self-hostable media pipeline. `reelay up` runs the whole stack locally.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

STACK_MISSING = (
    "`reelay up` needs the reelay-stack package (the API, the worker, FFmpeg and the embedded "
    "servers), which is not installed here. In a reelay checkout run `uv run reelay up`; "
    "this install is a client for a reelay server that runs elsewhere (see --server)."
)


@app.callback()
def main() -> None:
    """reelay: a self-hostable media pipeline."""


def up_unavailable() -> None:
    """Start the whole stack locally (needs the reelay-stack package, not installed here)."""
    print(f"reelay: {STACK_MISSING}", file=sys.stderr)
    raise typer.Exit(1)


try:
    from reelay_cli.commands.up import up
except ModuleNotFoundError as exc:
    if exc.name != "reelay_stack":
        raise
    # Whatever options were given, the answer is the same: say what to install.
    app.command("up", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
        up_unavailable
    )
else:
    app.command()(up)

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
app.command(context_settings=tools.PASS_THROUGH)(tools.ffmpeg)
app.command(context_settings=tools.PASS_THROUGH)(tools.ffprobe)
app.add_typer(keys.app, name="keys")
app.add_typer(webhooks.app, name="webhooks")


if __name__ == "__main__":
    app()

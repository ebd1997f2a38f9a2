"""`reelay up`: embedded servers, migrations, then the API and worker; Ctrl-C stops it all."""

from __future__ import annotations

import signal
import sys
import threading
import time
import urllib.request

from reelay_core.binaries import MissingBinary, ffmpeg_path, ffprobe_path
from reelay_core.settings import Settings
from rich.console import Console
from rich.text import Text

from reelay_stack.children import ChildProcess
from reelay_stack.embedded import EmbeddedServices, app_env, ensure_writable
from reelay_stack.errors import StackError
from reelay_stack.lock import DataDirLock
from reelay_stack.ports import Ports, port_is_free

# soft_wrap: an error stays one line whatever the terminal width.
console = Console(stderr=True, soft_wrap=True)


def app_processes(settings: Settings) -> list[ChildProcess]:
    env = app_env(settings)
    if sys.stdout.isatty():
        # The children write to our pipes, not to the terminal their lines end up on.
        env["FORCE_COLOR"] = "1"
    # Held until the servers answer (held.py); uvicorn imports the app only once it runs.
    return [
        ChildProcess("api", held_argv("reelay_api", "reelay_api.app"), env, held=True),
        # Ctrl-C is a person waiting at a terminal: running jobs are handed back at once
        # (costing no attempt) instead of being given a production worker's drain window.
        ChildProcess(
            "worker",
            held_argv("reelay_worker"),
            {**env, "REELAY_WORKER_DRAIN_SECONDS": "0"},
            held=True,
        ),
    ]


def held_argv(package: str, *modules: str) -> list[str]:
    return [sys.executable, "-m", "reelay_stack.held", package, *modules]


def wait_ready(url: str, timeout: float, children: list[ChildProcess]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children:
            if child.exited() is not None:
                raise StackError(f"the {child.name} process exited with code {child.exited()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise StackError(f"{url} did not answer 200 within {timeout:.0f} s")


def run_up(settings: Settings, ports: Ports) -> int:
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stop_requested.set()

    # SIGHUP: the terminal running us was closed. Stop as cleanly as on Ctrl-C.
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, request_stop)

    services = EmbeddedServices(settings, ports)
    children: list[ChildProcess] = []
    lock = DataDirLock(settings.data_dir.resolve())
    try:
        # Before the port checks: a second `reelay up` on the same ports would otherwise be
        # told that a port is in use, not which process uses its data.
        ensure_writable(lock.path.parent)
        lock.acquire()
        check_preconditions(settings)
        console.print(
            Text.assemble(("reelay", "bold"), f" starting in {settings.data_dir.resolve()}")
        )
        children = app_processes(services.resolve())
        for child in children:
            child.start()
        resolved = services.start()
        for child in children:
            child.release()
        wait_ready(f"{resolved.api_base_url}/readyz", timeout=60, children=children)
        print_urls(resolved)
        while not stop_requested.wait(0.5):
            for child in children:
                if child.exited() is not None:
                    raise StackError(f"the {child.name} process exited with code {child.exited()}")
        return 0
    except StackError as exc:
        console.print(Text.assemble(("error: ", "bold red"), str(exc)))
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if children or services.started:
            console.print("stopping…")
            for child in reversed(children):
                child.stop()
            services.stop()
            console.print("stopped")
        lock.release()


def check_preconditions(settings: Settings) -> None:
    if not port_is_free(settings.api_port, settings.api_host):
        raise StackError(
            f"port {settings.api_port} for the API is in use; pick another with --port"
        )
    try:
        ffmpeg_path(settings)
        ffprobe_path(settings)
    except MissingBinary as exc:
        raise StackError(str(exc)) from exc


def print_urls(settings: Settings) -> None:
    base = settings.api_base_url
    console.print(
        "\n[bold green]reelay is up[/]\n"
        f"  Web page  {base}/\n"
        f"  API       {base}\n"
        f"  API docs  {base}/schema\n"
        f"  S3        {settings.s3_public_endpoint_url or settings.s3_endpoint_url}\n"
        "Press Ctrl-C to stop.\n"
    )

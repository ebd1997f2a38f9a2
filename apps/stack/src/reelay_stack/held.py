"""`python -m reelay_stack.held PACKAGE [MODULE...]`: an app process that loads, then waits.

It imports PACKAGE's entry point (and MODULEs), then runs it once a line "start" arrives on
stdin; at end of file it exits. `reelay up` starts the API and worker this way before its
servers, so that their imports (seconds on a busy machine) overlap the servers' start-up
instead of following it, and neither app connects before the servers answer.
"""

import importlib
import sys


def main() -> None:
    package, *modules = sys.argv[1:]
    entry_point = importlib.import_module(f"{package}.__main__")
    for module in modules:
        importlib.import_module(module)
    if sys.stdin.readline() == "start\n":
        entry_point.main()


if __name__ == "__main__":
    main()

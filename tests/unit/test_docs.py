"""The project documents its own contract: docs/api.md lists every route the server has, and
nothing in the repository points at documents outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from reelay_api.app import create_app
from reelay_core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
API_DOC = ROOT / "docs" / "api.md"
ROUTES_START, ROUTES_END = "<!-- routes:start -->", "<!-- routes:end -->"

# Design notes that sat beside the repository while it was first written. Readers of the
# repository cannot follow such a pointer. Spelled in pieces so that this file matches none.
OUTSIDE = "shared"
POINTERS = [f"{OUTSIDE}/{name}.md" for name in ("API", "DESIGN", "STYLE", "FACTS")]
POINTERS.append(f"../{OUTSIDE}")
# Package names and hashes only: a registry's text is not ours to keep clean.
NOT_SCANNED = {"uv.lock"}

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
ROUTE_ROW = re.compile(r"^\|\s*([A-Z]+)\s*\|\s*(/\S*)\s*\|")


def pointers_in(text: str) -> list[str]:
    return [pointer for pointer in POINTERS if pointer in text]


def repository_files() -> list[Path]:
    """What a commit would hold: tracked files, and new ones that .gitignore does not exclude."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    paths = (ROOT / name for name in listed.split("\0") if name and name not in NOT_SCANNED)
    return sorted(path for path in paths if path.is_file())  # a deleted file may still be tracked


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"as {OUTSIDE}/API.md describes", [f"{OUTSIDE}/API.md"]),
        (f"see ../{OUTSIDE}/FACTS.md", [f"{OUTSIDE}/FACTS.md", f"../{OUTSIDE}"]),
        ("as docs/api.md describes", []),
        (f"{OUTSIDE}/ memory, shared state", []),
    ],
)
def test_the_rule_tells_outside_pointers_from_our_own(text: str, found: list[str]) -> None:
    assert pointers_in(text) == found


def test_nothing_points_at_documents_outside_the_repository() -> None:
    files = repository_files()
    assert API_DOC in files and Path(__file__) in files, "the scan missed the repository's files"
    found = [
        f"{path.relative_to(ROOT)}: {pointer}"
        for path in files
        for pointer in pointers_in(path.read_bytes().decode("utf-8", errors="replace"))
    ]
    assert found == [], "point at docs/api.md (or say it in place) instead:\n" + "\n".join(found)


def served_routes() -> set[tuple[str, str]]:
    """(METHOD, path) of every operation in the OpenAPI document; building the app starts no
    servers (its clients are opened by the lifespan, which does not run here)."""
    app = create_app(Settings(_env_file=None, jwt_secret="docs-test-secret-" + "x" * 32))
    paths = app.openapi_schema.to_schema()["paths"]
    return {
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method in HTTP_METHODS
    }


def documented_routes() -> set[tuple[str, str]]:
    text = API_DOC.read_text()
    assert ROUTES_START in text and ROUTES_END in text, "docs/api.md lost its route index markers"
    index = text[text.index(ROUTES_START) : text.index(ROUTES_END)]
    return {
        (found.group(1), found.group(2))
        for line in index.splitlines()
        if (found := ROUTE_ROW.match(line))
    }


def test_docs_api_lists_exactly_the_routes_the_server_has() -> None:
    served = served_routes()
    assert {("GET", "/events"), ("POST", "/auth/logout")} <= served, "OpenAPI lost routes"
    documented = documented_routes()
    undocumented = sorted(served - documented)
    assert undocumented == [], (
        f"describe these in docs/api.md and list them in its index: {undocumented}"
    )
    gone = sorted(documented - served)
    assert gone == [], f"docs/api.md lists routes the server does not have: {gone}"

"""Every `# type: ignore` names the error it silences and says why, on the same line.

mypy (`ignore-without-code`) already asks for the code in packages/ and apps/; the reason is
for the reader, and this also covers the tests, migrations and benchmarks mypy does not check.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ["packages", "apps", "tests", "migrations", "bench"]

IGNORE = re.compile(r"#\s*type:\s*ignore")
# `# type: ignore[code, code]  # reason`: codes in brackets, then a comment with some text.
EXPLAINED = re.compile(r"#\s*type:\s*ignore\[[\w\-]+(,\s*[\w\-]+)*\]\s+#\s*\S")


def unexplained_ignores(source: str) -> list[int]:
    """Line numbers of `type: ignore` comments without codes or without a reason."""
    lines = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT or not IGNORE.search(token.string):
            continue
        if not EXPLAINED.search(token.string):
            lines.append(token.start[0])
    return lines


def python_files() -> list[Path]:
    return sorted(
        path
        for folder in CHECKED
        for path in (ROOT / folder).rglob("*.py")
        if not any(part.startswith(".") or part == "node_modules" for part in path.parts)
    )


@pytest.mark.parametrize(
    ("line", "explained"),
    [
        ("x = f()  # type: ignore[arg-type]  # the stub says str, the call takes bytes", True),
        ("x = f()  # type: ignore[arg-type, union-attr]  # set in __aenter__", True),
        ("x = f()  # type: ignore", False),
        ("x = f()  # type: ignore[arg-type]", False),
        ("x = f()  # type: ignore[arg-type]  #", False),
        ("x = f()  # type: ignore  # no code given", False),
        ("x = '# type: ignore'", True),
    ],
)
def test_the_rule_tells_explained_from_bare_ignores(line: str, explained: bool) -> None:
    assert (unexplained_ignores(line + "\n") == []) is explained


def test_every_type_ignore_in_the_project_names_its_code_and_reason() -> None:
    files = python_files()
    assert any(path.name == "storage.py" for path in files), "the scan found no source files"
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in files
        for line in unexplained_ignores(path.read_text())
    ]
    assert found == [], "write `# type: ignore[code]  # reason`, or fix the type:\n" + "\n".join(
        found
    )

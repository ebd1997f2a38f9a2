"""The verification snippets docs/integrations.md gives receivers accept what the server signs
and refuse a changed body, another secret or an old signature."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from reelay_core.webhooks import signing

DOC = Path(__file__).resolve().parents[3] / "docs" / "integrations.md"
SECRET = "whsec_docs-snippet-secret"
BODY = b'{"id":"evt_1","type":"media.completed","created_at":"2026-11-30T03:00:00Z","data":{}}'


def snippet(language: str) -> str:
    text = DOC.read_text()
    marker = f"<!-- webhook-verify:{language} -->"
    assert marker in text, f"docs/integrations.md lost its {language} snippet"
    block = text[text.index(marker) :].split("```", 2)[1]
    return block.split("\n", 1)[1]  # without the language tag


def cases() -> list[tuple[bytes, str, str, bool]]:
    now = int(time.time())
    good = signing.signature_header(SECRET, now, BODY)
    return [
        (BODY, good, SECRET, True),
        (BODY.replace(b"completed", b"failed"), good, SECRET, False),
        (BODY, good, "whsec_another", False),
        (BODY, signing.signature_header(SECRET, now - 3600, BODY), SECRET, False),
        (BODY, "t=nonsense", SECRET, False),
    ]


def test_the_python_snippet() -> None:
    namespace: dict[str, object] = {}
    exec(snippet("python"), namespace)  # the docs' own code, as a reader would paste it
    handle = namespace["handle"]
    assert callable(handle)
    for body, header, secret, ok in cases():
        assert handle(body, {"Reelay-Signature": header}, secret) == (204 if ok else 401)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node is not installed here")
def test_the_node_snippet(tmp_path: Path) -> None:
    module = tmp_path / "verify.mjs"
    module.write_text(snippet("node"))
    runner = tmp_path / "run.mjs"
    runner.write_text(
        'import { verifyReelaySignature } from "./verify.mjs";\n'
        "const cases = JSON.parse(process.argv[2]);\n"
        "console.log(JSON.stringify(cases.map(([body, header, secret]) =>\n"
        '  verifyReelaySignature(Buffer.from(body, "utf8"), header, secret))));\n'
    )
    given = [(body.decode(), header, secret) for body, header, secret, _ in cases()]
    done = subprocess.run(
        ["node", str(runner), json.dumps(given)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [ok for *_, ok in cases()]

"""The README's configuration table, generated from `Settings`.

Regenerate with `uv run python -m reelay_core.settings_doc`.
"""

from __future__ import annotations

import json

from reelay_core.settings import Settings

START = "<!-- settings-table:start -->"
END = "<!-- settings-table:end -->"


def default_text(name: str) -> str:
    default = Settings.model_fields[name].default
    if default is None or default == "":
        return "—"
    if isinstance(default, list):
        return f"`{json.dumps(default)}`"
    return f"`{default}`"


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(
            f"| `REELAY_{name.upper()}` | {default_text(name)} | {field.description or ''} |"
        )
    return "\n".join(rows)


def readme_block() -> str:
    return f"{START}\n{markdown_table()}\n{END}"


if __name__ == "__main__":
    print(readme_block())

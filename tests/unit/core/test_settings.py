"""Settings: one REELAY_* variable per field, documented in the README."""

from __future__ import annotations

from pathlib import Path

import pytest
from reelay_core.settings import Settings
from reelay_core.settings_doc import END, START, readme_block

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_configuration_table_matches_the_settings_class() -> None:
    text = README.read_text()
    assert START in text and END in text, "README lost its configuration table markers"
    current = text[text.index(START) : text.index(END) + len(END)]
    assert current == readme_block(), "regenerate with: uv run python -m reelay_core.settings_doc"


def test_every_setting_is_described() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == []


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELAY_API_PORT", "9123")
    monkeypatch.setenv("REELAY_LADDER_HEIGHTS", "[720, 360]")
    settings = Settings(_env_file=None)
    assert settings.api_port == 9123
    assert settings.ladder_heights == [720, 360]
    assert settings.api_base_url == "http://127.0.0.1:9123"


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELAY_API_PORT", "eighty")
    with pytest.raises(ValueError, match="api_port"):
        Settings(_env_file=None)

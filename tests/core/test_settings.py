"""Settings are data with help text: each one is described and documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogov.core.settings import Settings, load_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


class TestSettingsAreDocumented:
    @pytest.mark.parametrize("name", sorted(Settings.model_fields))
    def test_every_setting_has_a_description_and_a_docs_row(self, name: str) -> None:
        field = Settings.model_fields[name]
        assert field.description, f"setting {name} has no description"
        assert f"`COGOV_{name.upper()}`" in DOCS.read_text(encoding="utf-8"), (
            f"COGOV_{name.upper()} is not documented in docs/settings.md"
        )


class TestDefaults:
    def test_database_defaults_to_sqlite_in_the_data_dir(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("COGOV_DATABASE_URL", raising=False)
        settings = load_settings(data_dir=tmp_path)
        assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'cogov.sqlite3'}"

    def test_environment_switches_to_postgresql(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("COGOV_DATABASE_URL", "postgresql+psycopg://u@h/db")
        assert load_settings().resolved_database_url == "postgresql+psycopg://u@h/db"

    def test_bad_value_names_the_field(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("COGOV_SQLITE_BUSY_TIMEOUT_MS", "-5")
        with pytest.raises(ValueError, match="sqlite_busy_timeout_ms"):
            load_settings()

    def test_an_empty_data_dir_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("COGOV_DATA_DIR", "")
        with pytest.raises(ValueError, match="data_dir"):
            load_settings()

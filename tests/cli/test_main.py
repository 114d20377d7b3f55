from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cogov.cli.main import app

runner = CliRunner()


class TestRoot:
    def test_help_lists_command_groups(self) -> None:
        result = runner.invoke(app, ["--help"])
        assert result.exit_code == 0
        assert "db" in result.output

    def test_unknown_command_is_bad_usage(self) -> None:
        result = runner.invoke(app, ["no-such-command"])
        assert result.exit_code == 2


class TestDbUpgrade:
    def test_creates_the_schema_in_the_data_dir(self, tmp_path: Path) -> None:
        result = runner.invoke(app, ["db", "upgrade", "--data-dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "cogov.sqlite3").exists()
        assert "0001_ledger" in result.output or "revision" in result.output

"""`cogov tokens` (issue once, list without secrets, revoke) and `cogov serve --help`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cogov.cli.main import app

runner = CliRunner()


def cogov(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


class TestTokens:
    def test_issue_list_revoke(self, tmp_path: Path) -> None:
        data = ["--data-dir", str(tmp_path)]
        assert cogov("users", "add", "ops", "--role", "administrator", *data)[0] == 0
        code, out = cogov(
            "tokens", "issue", "ops", "--name", "cron", "--days", "30", "--json", *data
        )
        assert code == 0, out
        issued = json.loads(out)
        assert issued["secret"].startswith("cgv_")
        assert issued["token"]["expires_at"] is not None
        code, out = cogov("tokens", "list", "--json", *data)
        listed = json.loads(out)
        assert [token["id"] for token in listed] == [issued["token"]["id"]]
        assert issued["secret"] not in out
        code, out = cogov("tokens", "revoke", issued["token"]["id"], *data)
        assert code == 0, out
        assert json.loads(cogov("tokens", "list", "--json", *data)[1]) == []
        everything = json.loads(cogov("tokens", "list", "--all", "--json", *data)[1])
        assert everything[0]["revoked_at"] is not None

    def test_errors_are_one_line_with_exit_codes(self, tmp_path: Path) -> None:
        data = ["--data-dir", str(tmp_path)]
        code, out = cogov("tokens", "issue", "nobody", *data)
        assert code == 3
        assert "nobody" in out
        assert cogov("tokens", "revoke", "no-such-id", *data)[0] == 3
        cogov("users", "add", "ops", "--role", "auditor", *data)
        code, out = cogov("tokens", "issue", "ops", "--name", "   ", *data)
        assert code == 2
        assert "name" in out


class TestServe:
    def test_help_names_the_options(self) -> None:
        code, out = cogov("serve", "--help")
        assert code == 0
        for option in ("--host", "--port", "--workers", "--data-dir"):
            assert option in out

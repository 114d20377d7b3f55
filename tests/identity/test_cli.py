from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cogov.cli.main import app

runner = CliRunner()


def run(tmp_path: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--data-dir", str(tmp_path)], input=stdin)
    return result.exit_code, result.output


class TestUsersCommands:
    def test_add_list_disable(self, tmp_path: Path) -> None:
        code, out = run(tmp_path, "users", "add", "admin", "--role", "administrator")
        assert code == 0, out
        code, out = run(
            tmp_path,
            "users",
            "add",
            "g1",
            "--role",
            "reviewer",
            "--role",
            "auditor",
            "--display-name",
            "Guardian One",
            "--password-stdin",
            "--by",
            "admin",
            stdin="a long enough secret\n",
        )
        assert code == 0, out
        code, out = run(tmp_path, "users", "list", "--json")
        listed = {u["username"]: u for u in json.loads(out)}
        assert listed["g1"]["roles"] == ["auditor", "reviewer"]
        assert listed["g1"]["has_password"] is True
        code, out = run(tmp_path, "users", "disable", "g1", "--by", "admin", "--reason", "left")
        assert code == 0, out
        code, out = run(tmp_path, "users", "list")
        assert code == 0
        assert "disabled" in out

    def test_errors_are_one_line_exit_2(self, tmp_path: Path) -> None:
        code, out = run(tmp_path, "users", "add", "Bad Name", "--role", "reviewer")
        assert code == 2
        assert "username:" in out
        assert "Traceback" not in out
        code, out = run(tmp_path, "users", "add", "ok", "--role", "king")
        assert code == 2
        code, out = run(tmp_path, "users", "disable", "ghost", "--by", "x", "--reason", "r")
        assert code == 3
        assert "not found" in out

    def test_enable_roles_and_password(self, tmp_path: Path) -> None:
        run(tmp_path, "users", "add", "admin", "--role", "administrator")
        run(tmp_path, "users", "add", "r1", "--role", "reviewer", "--by", "admin")
        code, out = run(tmp_path, "users", "disable", "r1", "--by", "admin", "--reason", "leave")
        code, out = run(tmp_path, "users", "enable", "r1", "--by", "admin", "--reason", "back")
        assert code == 0, out
        code, out = run(
            tmp_path, "users", "roles", "r1", "--role", "reviewer", "--role", "auditor",
            "--by", "admin", "--reason", "audits too",
        )  # fmt: skip
        assert code == 0, out
        code, out = run(tmp_path, "users", "password", "r1", "--by", "r1", stdin="short\n")
        assert code == 2
        assert "password: must be at least 12 characters" in out
        code, out = run(tmp_path, "users", "password", "r1", stdin="a long enough secret\n")
        assert code == 0, out
        assert "password set for r1; 0 web sessions ended" in out
        code, out = run(tmp_path, "users", "list", "--json")
        [r1] = [u for u in json.loads(out) if u["username"] == "r1"]
        assert r1["roles"] == ["auditor", "reviewer"]
        assert r1["active"] is True
        assert r1["has_password"] is True


class TestUsersDepartments:
    def test_add_remove_and_show(self, tmp_path: Path) -> None:
        run(tmp_path, "users", "add", "admin", "--role", "administrator")
        run(tmp_path, "users", "add", "fay", "--role", "field_staff", "--by", "admin")
        code, out = run(tmp_path, "users", "departments", "fay")
        assert code == 0, out
        assert "fay works for no department" in out
        code, out = run(
            tmp_path, "users", "departments", "fay", "--add", "Transport", "--add", "Parks",
            "--by", "admin", "--reason", "road crew",
        )  # fmt: skip
        assert code == 0, out
        assert "fay works for: Parks, Transport" in out
        code, out = run(
            tmp_path, "users", "departments", "fay", "--remove", "Parks",
            "--by", "admin", "--reason", "moved", "--json",
        )  # fmt: skip
        assert code == 0, out
        assert json.loads(out) == {"username": "fay", "departments": ["Transport"]}

    def test_losing_the_field_staff_role_takes_them_out_and_says_so(self, tmp_path: Path) -> None:
        run(tmp_path, "users", "add", "admin", "--role", "administrator")
        run(tmp_path, "users", "add", "fay", "--role", "field_staff", "--by", "admin")
        run(
            tmp_path, "users", "departments", "fay", "--add", "Transport", "--add", "Parks",
            "--by", "admin", "--reason", "road crew",
        )  # fmt: skip
        code, out = run(
            tmp_path, "users", "roles", "fay", "--role", "auditor",
            "--by", "admin", "--reason", "moved to audit",
        )  # fmt: skip
        assert code == 0, out
        assert out.splitlines() == [
            "fay now holds: auditor",
            "fay no longer works for: Parks, Transport (only field staff work for departments)",
        ]
        code, out = run(tmp_path, "users", "departments", "fay")
        assert "fay works for no department" in out
        code, out = run(
            tmp_path, "users", "roles", "fay", "--role", "reviewer",
            "--by", "admin", "--reason", "reviews now",
        )  # fmt: skip
        assert out.splitlines() == ["fay now holds: reviewer"]  # nothing more to leave

    def test_errors_exit_2_or_3(self, tmp_path: Path) -> None:
        run(tmp_path, "users", "add", "admin", "--role", "administrator")
        run(tmp_path, "users", "add", "fay", "--role", "field_staff", "--by", "admin")
        code, out = run(tmp_path, "users", "departments", "fay", "--add", "Transport")
        assert code == 2
        assert "--by and --reason" in out
        code, out = run(
            tmp_path, "users", "departments", "fay", "--remove", "Parks",
            "--by", "admin", "--reason", "x",
        )  # fmt: skip
        assert code == 2
        assert "remove: the user does not work for 'Parks'" in out
        code, out = run(tmp_path, "users", "departments", "ghost")
        assert code == 3

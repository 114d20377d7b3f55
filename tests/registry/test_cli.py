"""`cogov registry` end to end in a fresh data directory (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from cogov.cli.main import app
from cogov.db import make_engine, unit_of_work
from cogov.ledger import LedgerEntry
from cogov.registry.exports import validate_export

from .conftest import EXAMPLE, filing_data

runner = CliRunner()


class Cli:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def __call__(self, *args: str, code: int = 0, data: bool = True) -> str:
        extra = ["--data-dir", str(self.data_dir)] if data else []
        result = runner.invoke(app, [*args, *extra])
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result.output

    def write(self, name: str, data: dict[str, Any]) -> str:
        path = self.data_dir / name
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return str(path)

    def ledger_kinds(self) -> list[str]:
        engine = make_engine(f"sqlite:///{self.data_dir / 'cogov.sqlite3'}")
        try:
            with unit_of_work(engine) as session:
                return list(session.scalars(select(LedgerEntry.kind).order_by(LedgerEntry.seq)))
        finally:
            engine.dispose()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    run = Cli(tmp_path)
    run("users", "add", "admin", "--role", "administrator")
    for name, role in [("admin2", "administrator"), ("g.chen", "reviewer"),
                       ("m.lopez", "reviewer")]:  # fmt: skip
        run("users", "add", name, "--role", role, "--by", "admin")
    return run


def walk(cli: Cli, agent: str, *steps: tuple[str, str]) -> None:
    for step, by in steps:
        cli("registry", step, agent, "--by", by, "--reason", f"{step} it")


APPROVE_STEPS = [("submit", "admin"), ("approve", "admin2")]


class TestRegistryCli:
    def test_file_to_active_and_the_kill_switch(self, cli: Cli) -> None:
        out = cli("registry", "file", str(EXAMPLE), "--by", "admin")
        assert "filed router-agent version 1 as draft, grade II" in out
        walk(cli, "router-agent", *APPROVE_STEPS, ("activate", "admin"))
        listed = json.loads(cli("registry", "list", "--json"))
        assert listed[0]["active_version"] == 1
        assert listed[0]["guardian"] == "g.chen"
        shown = json.loads(cli("registry", "show", "router-agent", "--version", "1", "--json"))
        assert shown["status"] == "active"
        assert shown["obligations"]["max_autonomy_level"] == 2
        assert "allowed" in cli("registry", "gate", "router-agent", "--service", "rodent")
        cli("registry", "pause", "router-agent", "--by", "g.chen", "--reason", "odd routes")
        out = cli("registry", "gate", "router-agent", "--service", "rodent", code=1)
        assert "paused by g.chen" in out
        cli("registry", "resume", "router-agent", "--by", "m.lopez", "--reason", "checked")
        decision = json.loads(
            cli("registry", "gate", "router-agent", "--service", "rodent", "--json")
        )
        assert decision["allowed"] is True
        assert decision["responsible"]["guardian"] == "user:g.chen"
        events = json.loads(cli("registry", "history", "router-agent", "--json"))
        assert [e["action"] for e in events["events"]] == [
            "filed", "submit", "approve", "activate", "paused", "resumed",
        ]  # fmt: skip
        assert events["active_periods"][0]["version"] == 1
        assert "still active" in cli("registry", "history", "router-agent")
        public = json.loads(cli("registry", "public", "--json"))
        assert public[0]["agent_id"] == "router-agent"
        out = cli("users", "disable", "m.lopez", "--by", "admin", "--reason", "left")
        assert "m.lopez guards router-agent: these agents stop acting" in out
        out = cli("registry", "gate", "router-agent", "--service", "rodent", code=1)
        assert "backup guardian 'm.lopez' is disabled" in out

    def test_exports(self, cli: Cli) -> None:
        cli("registry", "file", str(EXAMPLE))
        walk(cli, "router-agent", *APPROVE_STEPS, ("activate", "admin"))
        for fmt in ("atrs", "algoritmeregister"):
            records = json.loads(cli("registry", "export", "--format", fmt))
            validate_export(fmt, records[0])
        target = cli.data_dir / "register.md"
        cli("registry", "export", "--format", "markdown", "--output", str(target))
        assert "## Request router" in target.read_text(encoding="utf-8")
        out = cli("registry", "export", "--format", "pdf", code=2)
        assert "format: 'pdf' is not one of" in out

    def test_refused_steps_are_one_line_exit_2(self, cli: Cli) -> None:
        cli("registry", "file", str(EXAMPLE))
        out = cli("registry", "approve", "router-agent", "--by", "admin2", "--reason", "x", code=2)
        assert "cannot approve router-agent v1: it is draft; approve needs submitted" in out
        out = cli("registry", "submit", "ghost", "--by", "admin", "--reason", "x", code=3)
        assert "agent 'ghost' not found" in out

    def test_prohibited_approval_is_refused_and_the_refusal_committed(self, cli: Cli) -> None:
        data = filing_data(purpose="Rate citizens based on their behavior for government rewards.")
        out = cli("registry", "file", cli.write("social.yaml", data))
        assert "prohibited:" in out
        assert "can never be approved" in out
        walk(cli, "router-agent", ("submit", "admin"))
        out = cli("registry", "approve", "router-agent", "--by", "admin2", "--reason", "ok",
                  code=2)  # fmt: skip
        assert "prohibited use (social_scoring)" in out
        assert "(the refusal is recorded in the ledger)" in out
        assert cli.ledger_kinds()[-1] == "filing.approval_refused"
        shown = json.loads(cli("registry", "show", "router-agent", "--json"))
        assert shown["status"] == "submitted"

    def test_grade_iii_activation_without_sandbox_report(self, cli: Cli) -> None:
        cli("registry", "file", cli.write("enforce.yaml", filing_data(grade="III")))
        walk(cli, "router-agent", *APPROVE_STEPS)
        out = cli("registry", "activate", "router-agent", "--by", "admin", "--reason", "go",
                  code=2)  # fmt: skip
        assert "grade III needs an approved sandbox report" in out
        assert cli.ledger_kinds()[-1] == "filing.activation_refused"

    def test_invalid_file_names_the_field(self, cli: Cli) -> None:
        data = filing_data()
        del data["guardian"]
        out = cli("registry", "file", cli.write("bad.yaml", data), code=2)
        assert "guardian: required" in out
        out = cli("registry", "file", str(cli.data_dir / "missing.yaml"), code=2)
        assert "No such file" in out

    def test_grade_a_questionnaire_alone(self, cli: Cli) -> None:
        graded = json.loads(cli("registry", "grade", str(EXAMPLE), "--json", data=False))
        assert graded["grade"] == "II"
        assert graded["obligations"]["needs_confidence_above_threshold"] is True
        answers = {"answers": filing_data(grade="IV")["impact_assessment"]["answers"],
                   "purpose": "对市民的日常行为进行评分，并给予奖惩"}  # fmt: skip
        out = cli("registry", "grade", cli.write("answers.yaml", answers), data=False)
        assert "grade IV" in out
        assert "prohibited" in out
        out = cli(
            "registry", "grade", cli.write("empty.yaml", {"purpose": "x"}), code=2, data=False
        )
        assert "impact_assessment.answers: required" in out

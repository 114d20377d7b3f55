"""`cogov review`, `cogov appeals` and `cogov autonomy` on a SQLite data directory:
JSON output, one-line errors with exit code 2 (3 for not found), no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cogov.cli.context import engine_for, settings_for
from cogov.cli.main import app
from cogov.control import govern
from cogov.control.service import open_workflow, record_config
from cogov.core.clock import FixedClock
from cogov.core.types import Role
from cogov.db.session import unit_of_work
from cogov.identity import add_user
from cogov.intake import submit
from cogov.review import enqueue
from tests.control.conftest import CONTROL, INTAKE, make_agent, make_proposal
from tests.review.conftest import BACKUP, GUARDIAN, START, TEAM, file_active_agent

runner = CliRunner()


def run(data_dir: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)], input=stdin)
    return result.exit_code, result.output


@pytest.fixture
def data_dir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A data directory with staff, an active agent and two queued proposals (one
    already past its deadline); returns the citizen tokens by case id."""
    engine = engine_for(settings_for(tmp_path))
    clock = FixedClock(START)
    tokens: dict[str, str] = {}
    try:
        with unit_of_work(engine) as session:
            add_user(session, username="admin", roles=[Role.ADMINISTRATOR])
            add_user(session, username="admin2", roles=[Role.ADMINISTRATOR], by="admin")
            for name in (GUARDIAN, BACKUP, "r.wu"):
                add_user(session, username=name, roles=[Role.REVIEWER], by="admin")
            agent = file_active_agent(session, clock)
            config_hash = record_config(
                session, config=CONTROL, thresholds={agent: 0.8}, clock=clock
            )
            for number, deadline in enumerate(("2026-11-02T10:00", "2099-01-01T00:00")):
                made = submit(
                    session,
                    {
                        "service_code": "illegal_dumping",
                        "description": f"Mattress {number}",
                        "address_string": f"{number} Main St",
                    },
                    config=INTAKE,
                    clock=clock,
                )
                tokens[made.case.id] = made.citizen_token
                open_workflow(session, case=made.case, config=CONTROL, clock=clock)
                proposal = govern(
                    session,
                    case=made.case,
                    agent=make_agent(agent_id=agent, autonomy_level=0, guardian=GUARDIAN),
                    proposals=[make_proposal()],
                    config=CONTROL,
                    config_hash=config_hash,
                    clock=clock,
                ).proposals[0]
                enqueue(
                    session,
                    case_id=made.case.id,
                    proposal_id=proposal.id,
                    agent_id=agent,
                    team=TEAM,
                    guardian=GUARDIAN,
                    backup_guardian=BACKUP,
                    reason="suggest only",
                    deadline=START.fromisoformat(deadline + ":00+00:00"),
                    clock=clock,
                )
    finally:
        engine.dispose()
    return tmp_path, tokens


class TestReviewCommands:
    def test_merge_a_repeat(self, data_dir: tuple[Path, dict[str, str]]) -> None:
        path, tokens = data_dir
        first, second = list(tokens)
        code, out = run(path, "review", "merge", second, "--into", second, "--reviewer", "r.wu")
        assert code == 2
        assert out.strip() == "error: into: a case cannot be merged into itself"
        code, out = run(
            path, "review", "merge", second, "--into", first, "--reviewer", "r.wu",
            "--reason", "same mattress", "--json",
        )  # fmt: skip
        assert code == 0, out
        merged = json.loads(out)
        assert (merged["state"], merged["duplicate_of"]) == ("merged", first)
        code, out = run(path, "review", "queue", "--json")
        assert [item["case_id"] for item in json.loads(out)] == [first]  # its item closed
        code, out = run(path, "review", "merge", first, "--into", second, "--reviewer", "r.wu")
        assert code == 2
        assert f"case {second} is itself merged into case {first}: merge into that one" in out
        code, out = run(path, "review", "merge", second, "--into", first, "--reviewer", "r.wu")
        assert code == 2
        assert "already merged" in out

    def test_queue_claim_decide_and_escalate(self, data_dir: tuple[Path, dict[str, str]]) -> None:
        path, tokens = data_dir
        code, out = run(path, "review", "queue", "--json")
        assert code == 0, out
        items = json.loads(out)
        assert [i["state"] for i in items] == ["queued", "queued"]
        overdue, later = items

        code, out = run(path, "review", "escalate-overdue", "--json")
        assert code == 0, out
        assert [(i["id"], i["escalated_to"]) for i in json.loads(out)] == [(overdue["id"], BACKUP)]

        code, out = run(path, "review", "claim", "--reviewer", GUARDIAN, "--json")
        assert code == 0, out
        assert json.loads(out)["id"] == later["id"]  # the escalated one is the backup's now

        code, out = run(path, "review", "reject", later["id"], "--reviewer", GUARDIAN)
        assert code == 2
        assert "reason_code: a reason is required to reject" in out
        assert "Traceback" not in out
        assert len(out.strip().splitlines()) == 1

        code, out = run(
            path,
            "review",
            "edit",
            later["id"],
            "--reviewer",
            GUARDIAN,
            "--value",
            "Parks",
            "--reason-code",
            "local_knowledge",
            "--note",
            "Park land.",
            "--json",
        )
        assert code == 0, out
        decided = json.loads(out)
        assert (decided["decision"], decided["final_value"], decided["note"]) == (
            "edited",
            "Parks",
            "Park land.",
        )
        code, out = run(path, "review", "approve", later["id"], "--reviewer", BACKUP)
        assert code == 2
        assert "the human decision is final" in out

        code, out = run(path, "review", "approve", "no-such-item", "--reviewer", BACKUP)
        assert code == 3
        assert "review item 'no-such-item' not found" in out

        # The citizen appeals; the guardian who decided may not hear it, r.wu may.
        token = tokens[decided["case_id"]]
        code, out = run(
            path,
            "appeals",
            "file",
            "--decision",
            decided["proposal_id"],
            "--grounds",
            "Not park land.",
            "--token-stdin",
            "--json",
            stdin=token + "\n",
        )
        assert code == 0, out
        appeal = json.loads(out)
        code, out = run(path, "appeals", "list", "--eligible", GUARDIAN, "--json")
        assert (code, json.loads(out)) == (0, [])
        code, out = run(path, "appeals", "list", "--eligible", "r.wu", "--json")
        assert [a["id"] for a in json.loads(out)] == [appeal["id"]]
        code, out = run(
            path, "appeals", "decide", appeal["id"], "--by", GUARDIAN, "--uphold", "--reason", "x"
        )
        assert code == 2
        assert "took part in the original decision (decided it)" in out
        code, out = run(
            path,
            "appeals",
            "decide",
            appeal["id"],
            "--by",
            "r.wu",
            "--uphold",
            "--reason",
            "Survey map shows a street.",
            "--json",
        )
        assert code == 0, out
        assert json.loads(out)["original_decision_wrong"] is True

    def test_reason_codes_and_teams(self, data_dir: tuple[Path, dict[str, str]]) -> None:
        path, _ = data_dir
        code, out = run(path, "review", "reasons", "--json")
        assert code == 0, out
        assert {"local_knowledge", "wrong_department", "duplicate", "policy", "other"} <= {
            c["code"] for c in json.loads(out)
        }
        code, out = run(path, "review", "team", "add", TEAM, "r.wu", "--by", "admin")
        assert code == 0, out
        code, out = run(path, "review", "team", "list", "--json")
        assert [(m["team"], m["username"]) for m in json.loads(out)] == [(TEAM, "r.wu")]
        code, out = run(path, "review", "team", "add", TEAM, "r.wu", "--by", "r.wu")
        assert code == 2
        assert "does not hold the administrator role" in out


class TestEscalateEvery:
    def test_sweeps_again_every_interval_until_stopped(
        self, data_dir: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path, _ = data_dir
        pauses: list[float] = []

        def pause(seconds: float) -> None:  # stands in for the wait, not for the sweep
            pauses.append(seconds)
            if len(pauses) == 3:
                raise KeyboardInterrupt

        monkeypatch.setattr("cogov.cli.review.time.sleep", pause)
        code, out = run(path, "review", "escalate", "--every", "60")
        assert code == 0, out
        assert pauses == [60, 60, 60]
        sweeps = [line for line in out.splitlines() if "overdue item(s)" in line]
        assert [line.split(" ", 1)[1] for line in sweeps] == [
            "escalated 1 overdue item(s) to the backup guardian",
            "escalated 0 overdue item(s) to the backup guardian",
            "escalated 0 overdue item(s) to the backup guardian",
        ]

    def test_every_needs_at_least_a_second(self, data_dir: tuple[Path, dict[str, str]]) -> None:
        code, out = run(data_dir[0], "review", "escalate", "--every", "0")
        assert code == 2
        assert "--every" in out


class TestAutonomyCommands:
    def test_show_raise_and_evaluate(self, data_dir: tuple[Path, dict[str, str]]) -> None:
        path, _ = data_dir
        code, out = run(path, "autonomy", "show", "router-agent", "--json")
        assert code == 0, out
        shown = json.loads(out)
        assert (shown["level"], shown["ceiling"], shown["effective"]) == (1, 3, 1)
        code, out = run(
            path, "autonomy", "raise", "router-agent", "--to", "2", "--by", BACKUP, "--reason", "x"
        )
        assert code == 2
        assert "only its guardian 'g.chen' can sign it off" in out
        code, out = run(
            path,
            "autonomy",
            "raise",
            "router-agent",
            "--to",
            "2",
            "--by",
            GUARDIAN,
            "--reason",
            "a month of clean reviews",
            "--json",
        )
        assert code == 0, out
        assert json.loads(out)["effective"] == 2
        code, out = run(
            path, "autonomy", "lower", "router-agent", "--to", "1", "--by", "r.wu", "--reason", "x"
        )
        assert code == 2
        assert "is not its guardian, its backup guardian or an administrator" in out
        code, out = run(
            path,
            "autonomy",
            "lower",
            "router-agent",
            "--to",
            "1",
            "--by",
            BACKUP,
            "--reason",
            "replies complained about",
            "--json",
        )
        assert code == 0, out
        assert json.loads(out)["history"][0]["direction"] == "lowered"
        code, out = run(path, "autonomy", "evaluate", "--json")
        assert code == 0, out
        assert [(r["agent_id"], r["to_level"], r["lowered"]) for r in json.loads(out)] == [
            ("router-agent", 1, False)
        ]

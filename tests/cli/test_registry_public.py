"""`cogov registry public` gives each active agent's autonomy standing, as the public
register page and `GET /api/v1/registry/public` do, on SQLite and PostgreSQL: its
JSON is the API's answer at the same moment, and the plain form shows the level, the
ceiling and the window's measures beside their limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from cogov.api.app import create_app
from cogov.cli.main import app
from cogov.control.service import record_config
from cogov.core.clock import FixedClock, parse_iso_utc, utc_now
from cogov.core.settings import load_settings
from cogov.db.session import unit_of_work
from tests.conftest import BACKENDS, fresh_migrated_database
from tests.control.autonomy.test_window_counts import EPOCH, store
from tests.control.conftest import CONTROL

runner = CliRunner()
FILING = Path(__file__).resolve().parents[2] / "docs" / "examples" / "router-agent.yaml"
AGENT = "router-agent"  # the example filing's
# Small minimums, so seven proposals are a window the controller judges.
LIMITS = {"min_decisions": 5, "min_reviewed": 2, "min_group_size": 2}


def seven_recent_proposals() -> list[dict[str, Any]]:
    """The API test's seven proposals, made in the last minutes (the CLI counts at the
    system's clock): four applied alone (one appeal upheld), one rejected and one
    approved by a person, one stopped by a negative-list rule."""
    recent = int((utc_now() - EPOCH) / timedelta(minutes=1)) - 30
    alone = {"state": "applied", "outcome": None, "verdict": 5, "other_agent": False}
    by_person = {"verdict": 2, "groups": 3, "appeal": None, "other_agent": False}
    return [
        *({**alone, "minute": recent + m, "groups": 1, "appeal": None} for m in range(3)),
        {**alone, "minute": recent + 3, "groups": 1, "appeal": "upheld"},
        {**by_person, "minute": recent + 4, "state": "decided", "outcome": "rejected"},
        {**by_person, "minute": recent + 5, "state": "decided", "outcome": "approved"},
        {**by_person, "minute": recent + 6, "state": "pending_review", "outcome": None,
         "verdict": 0},
    ]  # fmt: skip


class Deployment:
    def __init__(self, data_dir: Path, url: str, engine: Engine) -> None:
        self.data_dir = data_dir
        self.engine = engine
        self.env = {"COGOV_DATABASE_URL": url} | {
            f"COGOV_AUTONOMY_{key.upper()}": str(value) for key, value in LIMITS.items()
        }

    def __call__(self, *args: str) -> str:
        result = runner.invoke(app, [*args, "--data-dir", str(self.data_dir)], env=self.env)
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        return result.stdout


@pytest.fixture(params=BACKENDS)
def deployed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """The example router agent active, with seven proposals in its window."""
    with fresh_migrated_database(request.param, tmp_path) as (url, engine):
        cli = Deployment(tmp_path, url, engine)
        cli("users", "add", "admin", "--role", "administrator")
        cli("users", "add", "admin2", "--role", "administrator", "--by", "admin")
        for guardian in ("g.chen", "m.lopez"):
            cli("users", "add", guardian, "--role", "reviewer", "--by", "admin")
        cli("registry", "file", str(FILING), "--by", "admin")
        for step, by in (("submit", "admin"), ("approve", "admin2"), ("activate", "admin")):
            cli("registry", step, AGENT, "--by", by, "--reason", "register test")
        with unit_of_work(engine) as session:
            config_hash = record_config(session, config=CONTROL, thresholds={}, clock=None)
            store(session, config_hash, seven_recent_proposals(), agent=AGENT)
        yield cli


class TestRegistryPublic:
    def test_json_is_the_apis_answer_at_the_same_moment(self, deployed: Deployment) -> None:
        (entry,) = json.loads(deployed("registry", "public", "--json"))
        shown = entry["autonomy"]
        assert (shown["level"], shown["ceiling"], shown["last_change"]) == (1, 2, None)
        window = shown["window"]
        assert (window["proposals"], window["applied_without_person"]) == (7, 4)
        assert (window["reviewed"], window["overridden"], window["override_rate"]) == (2, 1, 0.5)
        assert (window["upheld_appeals"], window["negative_list_hits"]) == (1, 1)
        assert window["group_gap"]["counts"] == {"18_34": 4, "65_plus": 2}

        settings = load_settings(
            data_dir=deployed.data_dir,
            rate_limit_per_minute=0,
            **{f"autonomy_{key}": value for key, value in LIMITS.items()},
        )
        moment = FixedClock(parse_iso_utc(window["until"]))
        api = create_app(settings, engine=deployed.engine, clock=moment, migrate=False)
        with TestClient(api) as anyone:
            answer = anyone.get("/api/v1/registry/public")
        assert answer.status_code == 200
        assert answer.json() == [entry]

    def test_plain_form_shows_level_ceiling_and_the_windows_measures(
        self, deployed: Deployment
    ) -> None:
        out = " ".join(deployed("registry", "public").split())
        assert "autonomy: level 1 (assist), ceiling 2 (supervised)" in out
        assert "last change: never changed" in out
        assert "7 proposals" in out
        assert "applied without a person: 4 (57.1%)" in out
        assert "overridden by a person: 1 of 2 (50.0%), limit" in out
        assert "upheld appeals: 1 of 7 (14.3%), limit" in out
        assert "negative-list hits: 1 of 7 (14.3%), limit" in out
        assert "gap between groups: 100.0% by age_band, limit" in out

"""The registry over HTTP: filing (YAML and JSON), lifecycle steps, guardians and
the kill switch, and the public register."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cogov.api.app import create_app
from cogov.control.service import record_config
from cogov.core.clock import FixedClock
from cogov.core.settings import load_settings
from cogov.core.types import Role
from cogov.db.session import unit_of_work
from cogov.registry import activate, approve, file_agent, parse_filing, submit
from tests.api.support import Staff, make_staff
from tests.control.autonomy.test_window_counts import EPOCH, store
from tests.control.conftest import CONTROL
from tests.registry.conftest import filing_data

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "router-agent.yaml"
R = "/api/v1/registry"


@pytest.fixture
def team(engine: Engine) -> dict[str, Staff]:
    """Two administrators (filing and approving are different people), a guardian
    pair, and a reviewer who guards nothing."""
    return {
        "admin": make_staff(engine, Role.ADMINISTRATOR, password=None),
        "approver": make_staff(engine, Role.ADMINISTRATOR, password=None),
        "guardian": make_staff(engine, Role.REVIEWER, password=None),
        "backup": make_staff(engine, Role.REVIEWER, password=None),
        "outsider": make_staff(engine, Role.REVIEWER, password=None),
    }


def filing(team: dict[str, Staff]) -> dict[str, Any]:
    # Through JSON text, as a client would send it (YAML dates become strings).
    loaded = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document: dict[str, Any] = json.loads(json.dumps(loaded, default=str))
    document["agent_id"] = f"agent-{uuid.uuid4().hex[:8]}"
    document["guardian"] = team["guardian"].username
    document["backup_guardian"] = team["backup"].username
    return document


def file_one(client: TestClient, team: dict[str, Staff]) -> str:
    document = filing(team)
    response = client.post(f"{R}/filings", json=document, headers=team["admin"].headers)
    assert response.status_code == 201, response.text
    return str(document["agent_id"])


class TestFiling:
    def test_file_from_json_then_read_it_back(
        self, client: TestClient, team: dict[str, Staff], staff: dict[Role, Staff]
    ) -> None:
        agent_id = file_one(client, team)
        shown = client.get(f"{R}/agents/{agent_id}", headers=staff[Role.AUDITOR].headers)
        assert shown.status_code == 200
        assert shown.json()["latest"]["status"] == "draft"
        assert shown.json()["latest"]["version"] == 1
        listed = client.get(f"{R}/agents", headers=staff[Role.FIELD_STAFF].headers).json()
        assert agent_id in {agent["agent_id"] for agent in listed}
        versions = client.get(f"{R}/agents/{agent_id}/filings", headers=team["admin"].headers)
        assert [v["version"] for v in versions.json()] == [1]
        one = client.get(f"{R}/agents/{agent_id}/filings/1", headers=team["admin"].headers)
        assert one.json()["document"]["agent_id"] == agent_id

    def test_file_from_the_yaml_file(self, client: TestClient, team: dict[str, Staff]) -> None:
        text = yaml.safe_dump(filing(team), allow_unicode=True)
        response = client.post(
            f"{R}/filings",
            content=text.encode(),
            headers={**team["admin"].headers, "Content-Type": "application/yaml"},
        )
        assert response.status_code == 201, response.text

    def test_a_bad_filing_names_the_field(self, client: TestClient, team: dict[str, Staff]) -> None:
        document = filing(team)
        del document["purpose"]
        response = client.post(f"{R}/filings", json=document, headers=team["admin"].headers)
        assert response.status_code == 422
        assert "purpose" in response.json()["message"]

    def test_broken_json_and_yaml_are_422(self, client: TestClient, team: dict[str, Staff]) -> None:
        headers = team["admin"].headers
        broken_json = client.post(
            f"{R}/filings", content=b"{", headers={**headers, "Content-Type": "application/json"}
        )
        broken_yaml = client.post(
            f"{R}/filings", content=b"a: [", headers={**headers, "Content-Type": "text/yaml"}
        )
        assert broken_json.status_code == 422
        assert broken_json.json()["field"] == "body"
        assert broken_yaml.status_code == 422

    def test_unknown_agent_and_version_are_404(
        self, client: TestClient, team: dict[str, Staff]
    ) -> None:
        headers = team["admin"].headers
        assert client.get(f"{R}/agents/nope", headers=headers).status_code == 404
        agent_id = file_one(client, team)
        assert client.get(f"{R}/agents/{agent_id}/filings/9", headers=headers).status_code == 404


class TestLifecycle:
    def test_submit_approve_and_a_wrong_step(
        self, client: TestClient, team: dict[str, Staff]
    ) -> None:
        agent_id = file_one(client, team)
        step = f"{R}/agents/{agent_id}/transitions"
        submitted = client.post(
            step, json={"step": "submit", "reason": "ready"}, headers=team["admin"].headers
        )
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["status"] == "submitted"
        again = client.post(
            step, json={"step": "submit", "reason": "again"}, headers=team["admin"].headers
        )
        assert again.status_code == 409
        history = client.get(f"{R}/agents/{agent_id}/history", headers=team["admin"].headers)
        assert [event["action"] for event in history.json()][-1] == "submit"

    def test_an_unknown_step_is_422(self, client: TestClient, team: dict[str, Staff]) -> None:
        agent_id = file_one(client, team)
        response = client.post(
            f"{R}/agents/{agent_id}/transitions",
            json={"step": "promote", "reason": "x"},
            headers=team["admin"].headers,
        )
        assert response.status_code == 422
        assert response.json()["field"] == "step"


class TestKillSwitch:
    def test_an_administrator_pauses_and_resumes_an_outsider_may_not(
        self, client: TestClient, team: dict[str, Staff]
    ) -> None:
        agent_id = file_one(client, team)
        body = {"reason": "wrong routings this morning"}
        outsider = client.post(
            f"{R}/agents/{agent_id}/pause", json=body, headers=team["outsider"].headers
        )
        assert outsider.status_code == 403
        # (Guardians are bound when a version is activated; the registry's own tests
        # cover a guardian pulling the switch.)
        paused = client.post(
            f"{R}/agents/{agent_id}/pause", json=body, headers=team["approver"].headers
        )
        assert paused.status_code == 200, paused.text
        assert paused.json()["paused"] is True
        twice = client.post(
            f"{R}/agents/{agent_id}/pause", json=body, headers=team["admin"].headers
        )
        assert twice.status_code == 409
        resumed = client.post(
            f"{R}/agents/{agent_id}/resume", json={"reason": "fixed"}, headers=team["admin"].headers
        )
        assert resumed.status_code == 200
        assert resumed.json()["paused"] is False

    def test_guardians_are_reassigned_by_an_administrator(
        self, client: TestClient, team: dict[str, Staff]
    ) -> None:
        agent_id = file_one(client, team)
        body = {
            "guardian": team["outsider"].username,
            "backup_guardian": team["guardian"].username,
            "reason": "rota change",
        }
        changed = client.put(
            f"{R}/agents/{agent_id}/guardians", json=body, headers=team["admin"].headers
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["guardian"] == team["outsider"].username


class TestPublicRegister:
    def test_open_to_everyone(self, client: TestClient) -> None:
        response = client.get(f"{R}/public")
        assert response.status_code == 200
        assert isinstance(response.json(), list)
        json.dumps(response.json())

    def test_each_agent_shows_its_autonomy_and_the_controllers_window(
        self, engine: Engine, data_dir: Path
    ) -> None:
        """Seven proposals stored for an active agent; the register's numbers are
        the ones counted here by hand, and nobody is named."""
        people = {
            role: make_staff(engine, Role.ADMINISTRATOR if role[0] == "a" else Role.REVIEWER)
            for role in ("admin", "approver", "guardian", "backup")
        }
        agent_id = f"agent-{uuid.uuid4().hex[:8]}"
        filed_at = FixedClock(EPOCH)
        with unit_of_work(engine) as session:
            document = parse_filing(
                filing_data(
                    agent_id=agent_id,
                    guardian=people["guardian"].username,
                    backup_guardian=people["backup"].username,
                )
            )
            file_agent(session, document=document, by=people["admin"].username, clock=filed_at)
            for step, by in ((submit, "admin"), (approve, "approver"), (activate, "admin")):
                step(
                    session,
                    agent_id=agent_id,
                    by=people[by].username,
                    reason="register test",
                    clock=filed_at,
                )
            config_hash = record_config(session, config=CONTROL, thresholds={}, clock=None)
            alone = {"state": "applied", "outcome": None, "verdict": 5, "other_agent": False}
            by_person = {"verdict": 2, "groups": 3, "appeal": None, "other_agent": False}
            made: list[dict[str, Any]] = [
                *({**alone, "minute": m, "groups": 1, "appeal": None} for m in range(3)),
                {**alone, "minute": 3, "groups": 1, "appeal": "upheld"},
                {**by_person, "minute": 4, "state": "decided", "outcome": "rejected"},
                {**by_person, "minute": 5, "state": "decided", "outcome": "approved"},
                {
                    **by_person,
                    "minute": 6,
                    "state": "pending_review",
                    "outcome": None,
                    "verdict": 0,
                },
            ]
            store(session, config_hash, made, agent=agent_id)
        settings = load_settings(
            data_dir=data_dir,
            rate_limit_per_minute=0,
            autonomy_min_decisions=5,
            autonomy_min_reviewed=2,
            autonomy_min_group_size=2,
        )
        app = create_app(
            settings, engine=engine, clock=FixedClock(EPOCH + timedelta(days=2)), migrate=False
        )
        with TestClient(app) as anyone:
            response = anyone.get(f"{R}/public")
        assert response.status_code == 200
        (entry,) = [item for item in response.json() if item["agent_id"] == agent_id]
        shown = entry["autonomy"]
        assert (shown["level"], shown["ceiling"], shown["last_change"]) == (1, 2, None)
        window = shown["window"]
        assert (window["proposals"], window["enough"]) == (7, True)
        assert (window["applied_without_person"], window["applied_share"]) == (4, 0.5714)
        assert (window["reviewed"], window["overridden"], window["override_rate"]) == (2, 1, 0.5)
        assert (window["upheld_appeals"], window["upheld_appeal_rate"]) == (1, 0.1429)
        assert (window["negative_list_hits"], window["negative_list_rate"]) == (1, 0.1429)
        # The rule's proposal is left out of the groups: 4 of 4 younger, 0 of 2 older.
        assert window["group_gap"] == {
            "attribute": "age_band",
            "gap": 1.0,
            "shares": {"18_34": 1.0, "65_plus": 0.0},
            "counts": {"18_34": 4, "65_plus": 2},
        }
        assert shown["limits"]["min_proposals"] == 5
        assert (entry["name"], entry["grade"]) == ("Request router", "II")
        for person in people.values():
            assert person.username not in response.text

"""The review queue and appeals over HTTP, on a case whose agent's proposal waits
for a human: the guardian sees, claims and decides it; the citizen follows their
request and appeals with their token; someone who took no part decides the appeal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cogov.control import govern, load_control_config
from cogov.control.service import open_workflow, record_config
from cogov.core.clock import SystemClock
from cogov.core.settings import load_settings
from cogov.core.types import Role
from cogov.db.session import unit_of_work
from cogov.intake import load_intake_config, submit
from cogov.registry import activate, approve, file_agent, parse_filing
from cogov.registry import submit as submit_filing
from cogov.review import enqueue
from tests.api.support import Staff, make_staff
from tests.control.conftest import make_agent, make_proposal
from tests.registry.conftest import filing_data

CONTROL = load_control_config()
Q = "/api/v1/review"


@dataclass(frozen=True)
class Waiting:
    item_id: str
    case_id: str
    proposal_id: str
    token: str
    team: str
    guardian: Staff
    backup: Staff
    outsider: Staff


@pytest.fixture
def waiting(engine: Engine, data_dir: Path) -> Waiting:
    """A grade-I agent, active and guarded, whose route proposal waits for a human."""
    admin = make_staff(engine, Role.ADMINISTRATOR, password=None)
    admin2 = make_staff(engine, Role.ADMINISTRATOR, password=None)
    guardian, backup, outsider = (
        make_staff(engine, Role.REVIEWER, password=None) for _ in range(3)
    )
    team = f"team-{uuid.uuid4().hex[:6]}"
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    with unit_of_work(engine) as session:
        document = parse_filing(
            filing_data(
                grade="I",
                agent_id=agent_id,
                guardian=guardian.username,
                backup_guardian=backup.username,
            )
        )
        file_agent(session, document=document, by=admin.username)
        for step, by in ((submit_filing, admin), (approve, admin2), (activate, admin)):
            step(session, agent_id=agent_id, by=by.username, reason="api tests")
        intake = load_intake_config(load_settings(data_dir=data_dir))
        submission = submit(
            session,
            {
                "service_code": "illegal_dumping",
                "description": "Sofa on the kerb",
                "address_string": "3 Main St",
            },
            config=intake,
        )
        open_workflow(session, case=submission.case, config=CONTROL)
        config_hash = record_config(
            session, config=CONTROL, thresholds={agent_id: 0.8}, clock=SystemClock()
        )
        governed = govern(
            session,
            case=submission.case,
            agent=make_agent(agent_id=agent_id, autonomy_level=0, guardian=guardian.username),
            proposals=[make_proposal("route", "Sanitation", 0.95)],
            config=CONTROL,
            config_hash=config_hash,
        )
        [pending] = governed.pending
        item = enqueue(
            session,
            case_id=submission.case.id,
            proposal_id=pending.id,
            agent_id=agent_id,
            team=team,
            guardian=guardian.username,
            backup_guardian=backup.username,
            reason="autonomy: the agent only suggests",
        )
    return Waiting(
        item.id, submission.case.id, pending.id, submission.citizen_token, team, guardian,
        backup, outsider,
    )  # fmt: skip


class TestQueue:
    def test_a_queue_of_someone_without_the_reviewer_role_is_refused_as_a_claim_is(
        self, client: TestClient, waiting: Waiting, staff: dict[Role, Staff]
    ) -> None:
        field = staff[Role.FIELD_STAFF].username
        auditor = staff[Role.AUDITOR].headers
        listed = client.get(f"{Q}/queue", params={"reviewer": field}, headers=auditor)
        assert listed.status_code == 403, listed.text
        assert listed.json()["message"] == f"user {field!r} does not hold the reviewer role"
        ghost = client.get(f"{Q}/queue", params={"reviewer": "ghost"}, headers=auditor)
        assert ghost.status_code == 404, ghost.text
        # A reviewer lists their own queue only.
        other = client.get(
            f"{Q}/queue", params={"reviewer": waiting.backup.username},
            headers=waiting.outsider.headers,
        )  # fmt: skip
        assert other.status_code == 403, other.text

    def test_the_guardian_sees_claims_and_approves(
        self, client: TestClient, waiting: Waiting, staff: dict[Role, Staff]
    ) -> None:
        guardian = waiting.guardian.headers
        queue = client.get(f"{Q}/queue", headers=guardian).json()
        assert waiting.item_id in {item["id"] for item in queue}
        outsider_queue = client.get(f"{Q}/queue", headers=waiting.outsider.headers).json()
        assert waiting.item_id not in {item["id"] for item in outsider_queue}
        overseen = client.get(
            f"{Q}/queue", params={"team": waiting.team}, headers=staff[Role.AUDITOR].headers
        )
        assert [item["id"] for item in overseen.json()] == [waiting.item_id]
        named = client.get(
            f"{Q}/queue", params={"reviewer": waiting.guardian.username},
            headers=staff[Role.AUDITOR].headers,
        )  # fmt: skip
        assert waiting.item_id in {item["id"] for item in named.json()}

        detail = client.get(f"{Q}/items/{waiting.item_id}", headers=guardian).json()
        assert detail["proposal"]["value"] == "Sanitation"
        assert detail["proposal"]["explanation"]["evidence"]
        assert detail["case"]["description"] == "Sofa on the kerb"
        assert "email" not in detail["case"]

        claimed = client.post(f"{Q}/items/{waiting.item_id}/claim", headers=guardian)
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["claimed_by"] == waiting.guardian.username
        taken = client.post(f"{Q}/items/{waiting.item_id}/claim", headers=waiting.backup.headers)
        assert taken.status_code == 409

        approved = client.post(
            f"{Q}/items/{waiting.item_id}/approve", json={"note": "right team"}, headers=guardian
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["decision"] == "approved"
        again = client.post(f"{Q}/items/{waiting.item_id}/approve", json={}, headers=guardian)
        assert again.status_code == 409
        decisions = client.get(f"{Q}/cases/{waiting.case_id}/decisions", headers=guardian)
        assert [d["id"] for d in decisions.json()] == [waiting.item_id]

    def test_an_outsider_may_not_work_the_item(self, client: TestClient, waiting: Waiting) -> None:
        response = client.post(
            f"{Q}/items/{waiting.item_id}/claim", headers=waiting.outsider.headers
        )
        assert response.status_code == 403

    def test_edit_needs_a_known_reason_code_and_reject_works(
        self, client: TestClient, waiting: Waiting
    ) -> None:
        guardian = waiting.guardian.headers
        codes = client.get(f"{Q}/reason-codes", headers=guardian).json()
        assert "local_knowledge" in {code["code"] for code in codes}
        unknown = client.post(
            f"{Q}/items/{waiting.item_id}/edit",
            json={"new_value": "Parks", "reason_code": "no-such-code"},
            headers=guardian,
        )
        assert unknown.status_code == 422
        assert unknown.json()["field"] == "reason_code"
        missing = client.post(f"{Q}/items/{waiting.item_id}/reject", json={}, headers=guardian)
        assert missing.status_code == 422
        assert missing.json()["field"] == "reason_code"
        code = next(c["code"] for c in codes if "reject" in c["applies_to"] and not c["needs_note"])
        hidden = client.post(
            f"{Q}/items/{waiting.item_id}/reject",
            json={"reason_code": code, "note": "see \u009b2J"},
            headers=guardian,
        )
        assert hidden.status_code == 422, hidden.text
        assert (hidden.json()["field"], hidden.json()["reason"]) == (
            "note",
            "contains a control character U+009B at position 5",
        )
        rejected = client.post(
            f"{Q}/items/{waiting.item_id}/reject", json={"reason_code": code}, headers=guardian
        )
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["decision"] == "rejected"

    def test_claim_next_and_release(self, client: TestClient, waiting: Waiting) -> None:
        backup = waiting.backup.headers
        taken = client.post(f"{Q}/claim-next", json={"team": waiting.team}, headers=backup)
        assert taken.status_code == 200, taken.text
        assert taken.json()["id"] == waiting.item_id
        released = client.post(f"{Q}/items/{waiting.item_id}/release", headers=backup)
        assert released.status_code == 200
        assert released.json()["claimed_by"] is None
        empty = client.post(
            f"{Q}/claim-next", json={"team": "nobody-works-here"}, headers=waiting.outsider.headers
        )
        assert empty.status_code == 404

    def test_unknown_item_is_404(self, client: TestClient, waiting: Waiting) -> None:
        assert client.get(f"{Q}/items/nope", headers=waiting.guardian.headers).status_code == 404


class TestCitizenAndAppeals:
    def test_follow_appeal_and_decide_by_someone_who_took_no_part(
        self, client: TestClient, waiting: Waiting
    ) -> None:
        guardian = waiting.guardian.headers
        client.post(f"{Q}/items/{waiting.item_id}/approve", json={}, headers=guardian)

        followed = client.get(f"/open311/v2/cogov/follow/{waiting.token}.json").json()
        [output] = followed["request"]["cogov"]["ai"]
        assert output["proposal_id"] == waiting.proposal_id
        assert output["label"] == "AI-suggested, approved by a human"
        assert followed["request"]["agency_responsible"] == "Sanitation"
        assert followed["appeals"] == []

        wrong = client.post(
            "/open311/v2/cogov/appeals.json",
            data={"token": "guess", "proposal_id": waiting.proposal_id, "grounds": "x"},
        )
        assert wrong.status_code == 404
        missing = client.post("/open311/v2/cogov/appeals.xml", data={"token": waiting.token})
        assert missing.status_code == 400
        filed = client.post(
            "/open311/v2/cogov/appeals.json",
            data={
                "token": waiting.token,
                "proposal_id": waiting.proposal_id,
                "grounds": "It is on park land, not the street",
            },
        )
        assert filed.status_code == 200, filed.text
        [appeal] = filed.json()
        assert appeal["state"] == "filed"
        twice = client.post(
            "/open311/v2/cogov/appeals.json",
            data={"token": waiting.token, "proposal_id": waiting.proposal_id, "grounds": "again"},
        )
        assert twice.status_code == 409

        listed = client.get("/api/v1/appeals", headers=waiting.outsider.headers).json()
        assert appeal["id"] in {a["id"] for a in listed}
        mine = client.get("/api/v1/appeals", params={"eligible": "true"}, headers=guardian).json()
        assert appeal["id"] not in {a["id"] for a in mine}

        conflicted = client.post(
            f"/api/v1/appeals/{appeal['id']}/decide",
            json={"outcome": "upheld", "reason": "x"},
            headers=guardian,
        )
        assert conflicted.status_code == 403
        decided = client.post(
            f"/api/v1/appeals/{appeal['id']}/decide",
            json={"outcome": "upheld", "reason": "Parks owns that land"},
            headers=waiting.outsider.headers,
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["outcome"] == "upheld"

        followed = client.get(f"/open311/v2/cogov/follow/{waiting.token}.xml")
        assert "<outcome>upheld</outcome>" in followed.text
        [record] = client.get(
            f"/open311/v2/requests/{waiting.case_id}.json", params={"extensions": "true"}
        ).json()
        assert record["cogov"]["appeal"]["outcome"] == "upheld"
        assert "grounds" not in record["cogov"]["appeal"]
        shown = client.get(f"/api/v1/appeals/{appeal['id']}", headers=guardian)
        assert shown.json()["decided_by"] == waiting.outsider.username

    def test_staff_enter_an_appeal_for_a_citizen(
        self, client: TestClient, waiting: Waiting
    ) -> None:
        client.post(
            f"{Q}/items/{waiting.item_id}/approve", json={}, headers=waiting.guardian.headers
        )
        filed = client.post(
            "/api/v1/appeals",
            json={
                "token": waiting.token,
                "proposal_id": waiting.proposal_id,
                "grounds": "by phone",
            },
            headers=waiting.outsider.headers,
        )
        assert filed.status_code == 201, filed.text
        assert filed.json()["entered_by"] == waiting.outsider.username
        assert (
            client.get("/api/v1/appeals/nope", headers=waiting.outsider.headers).status_code == 404
        )

    def test_rate_once_and_see_it_with_the_appeal_on_the_request(
        self, client: TestClient, waiting: Waiting
    ) -> None:
        rate = "/open311/v2/cogov/ratings.json"
        assert client.post(rate, data={"token": waiting.token, "score": "9"}).status_code == 400
        assert client.post(rate, data={"token": waiting.token}).status_code == 400
        assert client.post(rate, data={"token": "guess", "score": "4"}).status_code == 404
        rated = client.post(rate, data={"token": waiting.token, "score": "4"})
        assert rated.status_code == 200, rated.text
        assert rated.json() == [{"service_request_id": waiting.case_id, "score": 4}]
        assert client.post(rate, data={"token": waiting.token, "score": "5"}).status_code == 409
        [record] = client.get(
            f"/open311/v2/requests/{waiting.case_id}.json", params={"extensions": "true"}
        ).json()
        assert record["cogov"]["rating"]["score"] == 4
        assert record["cogov"]["appeal"] is None

    def test_follow_with_a_wrong_token_is_404(self, client: TestClient) -> None:
        response = client.get("/open311/v2/cogov/follow/not-a-token.json")
        assert response.status_code == 404
        assert response.json()[0]["code"] == 404


def _another_case(engine: Engine, data_dir: Path) -> str:
    with unit_of_work(engine) as session:
        intake = load_intake_config(load_settings(data_dir=data_dir))
        body = {
            "service_code": "illegal_dumping",
            "description": "Sofa left on the kerb at number 3",
            "address_string": "3 Main St",
        }
        submission = submit(session, body, config=intake)
        open_workflow(session, case=submission.case, config=CONTROL)
        return submission.case.id


class TestMerge:
    def test_a_reviewer_merges_a_repeat_no_agent_proposed(
        self, client: TestClient, waiting: Waiting, engine: Engine, data_dir: Path
    ) -> None:
        original = _another_case(engine, data_dir)
        reviewer = waiting.outsider.headers  # any reviewer, not only the agent's guardian
        merge = f"{Q}/cases/{waiting.case_id}/merge"
        for into, words in ((waiting.case_id, "itself"), ("no-such-case", "no case")):
            refused = client.post(merge, json={"into": into}, headers=reviewer)
            assert refused.status_code == 422, refused.text
            assert refused.json()["field"] == "into"
            assert words in refused.json()["reason"]
        empty = client.post(merge, json={"into": ""}, headers=reviewer)
        assert empty.status_code == 422, empty.text
        unknown = client.post(f"{Q}/cases/nope/merge", json={"into": original}, headers=reviewer)
        assert unknown.status_code == 404, unknown.text

        merged = client.post(
            merge, json={"into": original, "reason": "same sofa"}, headers=reviewer
        )
        assert merged.status_code == 200, merged.text
        assert (merged.json()["state"], merged.json()["duplicate_of"]) == ("merged", original)
        item = client.get(f"{Q}/items/{waiting.item_id}", headers=waiting.guardian.headers)
        assert item.json()["item"]["state"] == "cancelled"
        assert item.json()["proposal"]["state"] == "cancelled"

        again = client.post(merge, json={"into": original}, headers=reviewer)
        assert again.status_code == 409, again.text
        # Open311 readers learn which request it repeats; the original names none.
        for case_id, expected in ((waiting.case_id, original), (original, None)):
            [record] = client.get(
                f"/open311/v2/requests/{case_id}.json", params={"extensions": "true"}
            ).json()
            assert record["cogov"]["duplicate_of"] == expected
            assert record["status"] == ("closed" if expected else "open")

"""Ledger and audit routes: verify, checkpoints, proofs, a case's entries, live audits
and responsibility reports, with their errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from cogov.core.types import Role
from cogov.ledger.proofs import verify_bundle
from tests.api.support import Staff

L = "/api/v1/ledger"
A = "/api/v1/audits"


def new_case(client: TestClient) -> str:
    response = client.post(
        "/open311/v2/requests.json", data={"service_code": "noise", "description": "Drums"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()[0]["service_request_id"])


class TestLedger:
    def test_verify_checkpoint_and_proofs(
        self, client: TestClient, staff: dict[Role, Staff]
    ) -> None:
        auditor, admin = staff[Role.AUDITOR].headers, staff[Role.ADMINISTRATOR].headers
        case_id = new_case(client)
        made = client.post(f"{L}/checkpoint", headers=admin)
        assert made.status_code == 201, made.text
        size = made.json()["size"]
        assert made.json()["note"].startswith(made.json()["origin"])
        latest = client.get(f"{L}/checkpoint", headers=auditor).json()
        assert latest["size"] >= size

        report = client.get(f"{L}/verify", headers=auditor)
        assert report.status_code == 200
        assert report.json()["ok"] is True, report.json()["problems"]
        assert report.json()["entries"] >= size

        entries = client.get(f"{L}/cases/{case_id}/entries", headers=auditor).json()
        assert entries[0]["kind"] == "case.received"
        seq = entries[0]["seq"]
        proof = client.get(
            f"{L}/proofs/inclusion", params={"seq": seq, "size": size}, headers=auditor
        )
        assert proof.status_code == 200, proof.text
        # A third party checks it with the pure verifier, the JSON and the public key.
        public_key = client.get(f"{L}/public-key").text
        assert verify_bundle(proof.json(), public_key)

        new_case(client)
        newer = client.post(f"{L}/checkpoint", headers=admin).json()["size"]
        assert newer > size
        consistency = client.get(
            f"{L}/proofs/consistency", params={"old_size": size, "new_size": newer}, headers=auditor
        )
        assert consistency.status_code == 200, consistency.text
        assert verify_bundle(consistency.json(), public_key)

    def test_proof_errors(self, client: TestClient, staff: dict[Role, Staff]) -> None:
        auditor, admin = staff[Role.AUDITOR].headers, staff[Role.ADMINISTRATOR].headers
        new_case(client)
        size = client.post(f"{L}/checkpoint", headers=admin).json()["size"]
        beyond = client.get(
            f"{L}/proofs/inclusion", params={"seq": size + 10, "size": size}, headers=auditor
        )
        assert beyond.status_code == 422
        assert beyond.json()["field"] == "seq"
        zero = client.get(f"{L}/proofs/inclusion", params={"seq": 0}, headers=auditor)
        assert zero.status_code == 422
        assert zero.json()["field"] == "seq"
        backwards = client.get(
            f"{L}/proofs/consistency",
            params={"old_size": size + 5, "new_size": size},
            headers=auditor,
        )
        assert backwards.status_code == 422

    def test_public_key_is_public(self, client: TestClient) -> None:
        response = client.get(f"{L}/public-key")
        assert response.status_code == 200
        assert response.text.startswith("-----BEGIN PUBLIC KEY-----")


class TestAudits:
    def test_live_audit(self, client: TestClient, staff: dict[Role, Staff]) -> None:
        new_case(client)
        response = client.get(
            f"{A}/live", params={"replicates": 20}, headers=staff[Role.AUDITOR].headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["cases"] >= 1
        assert body["source"] == "the live database"
        assert {result["group"] for result in body["fairness"]} >= {"channel"}

    def test_bad_audit_input_names_the_parameter(
        self, client: TestClient, staff: dict[Role, Staff]
    ) -> None:
        headers = staff[Role.AUDITOR].headers
        new_case(client)
        backwards = client.get(
            f"{A}/live",
            params={"received_from": "2026-02-01T00:00:00Z", "received_to": "2026-01-01T00:00:00Z"},
            headers=headers,
        )
        assert backwards.status_code == 422
        assert backwards.json()["field"] == "received_to"
        unknown = client.get(
            f"{A}/live",
            params={"group": "channel", "reference": "carrier-pigeon", "replicates": 20},
            headers=headers,
        )
        assert unknown.status_code == 422
        assert unknown.json()["field"] == "reference"
        no_column = client.get(
            f"{A}/live", params={"group": "shoe_size", "replicates": 5}, headers=headers
        )
        assert no_column.status_code == 422
        assert no_column.json()["field"] == "group"
        too_many = client.get(f"{A}/live", params={"replicates": 10**6}, headers=headers)
        assert too_many.status_code == 422
        assert too_many.json()["field"] == "replicates"

    def test_responsibility_for_a_case_and_a_period(
        self, client: TestClient, staff: dict[Role, Staff]
    ) -> None:
        headers = staff[Role.AUDITOR].headers
        case_id = new_case(client)
        one = client.get(f"{A}/responsibility/cases/{case_id}", headers=headers)
        assert one.status_code == 200
        assert one.json() == []  # no agent touched it: nothing to attribute
        missing = client.get(f"{A}/responsibility/cases/nope", headers=headers)
        assert missing.status_code == 404
        period = client.get(f"{A}/responsibility", headers=headers)
        assert period.status_code == 200

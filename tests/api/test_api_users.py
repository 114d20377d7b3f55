"""Staff users over HTTP (/api/v1/users), administrators only: every change goes
through identity, so it is a ledger entry naming the acting administrator; bad input
is refused field by field; no answer carries a password or its hash. Who may call
each route is in test_api_role_matrix.py."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cogov.api.auth import SESSION_COOKIE
from cogov.core.types import Role
from cogov.db.session import unit_of_work
from cogov.ledger import LedgerEntry
from tests.api.support import PASSWORD, Staff, make_staff

USERS = "/api/v1/users"
NEW_PASSWORD = "a different long passphrase"


def new_username() -> str:
    return f"n-{uuid.uuid4().hex[:10]}"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    assert "password_hash" not in response.text
    assert "$argon2" not in response.text
    return response.json()


def refused(response: httpx.Response, status: int, field: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    if field is not None:
        assert (body["error"], body["field"]) == ("validation_failed", field), body
        assert body["reason"]
    return str(body["message"])


def last_entry(engine: Engine, kind: str, username: str) -> tuple[str, dict[str, Any]]:
    """The newest ledger entry of ``kind`` about ``username``: its actor and payload."""
    with unit_of_work(engine) as session:
        rows = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.kind == kind, LedgerEntry.payload.contains(username))
            .order_by(LedgerEntry.seq.desc())
        ).all()
        found = [(row.actor, json.loads(row.payload)) for row in rows]
    found = [(actor, payload) for actor, payload in found if payload["username"] == username]
    assert found, f"no {kind} entry for {username}"
    return found[0]


@pytest.fixture
def admin(staff: dict[Role, Staff]) -> Staff:
    return staff[Role.ADMINISTRATOR]


def create(client: TestClient, admin: Staff, **body: Any) -> dict[str, Any]:
    sent = {"username": new_username(), "roles": ["field_staff"], "password": PASSWORD, **body}
    created: dict[str, Any] = ok(client.post(USERS, json=sent, headers=admin.headers), 201)
    return created


def signs_in(client: TestClient, username: str, password: str) -> bool:
    answer = client.post("/api/v1/auth/session", json={"username": username, "password": password})
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


class TestCreate:
    def test_adds_an_active_user_who_signs_in_with_the_initial_password(
        self, client: TestClient, engine: Engine, admin: Staff
    ) -> None:
        name = new_username()
        body = create(
            client, admin, username=name, roles=["reviewer", "auditor"], display_name="Li  Wei"
        )
        assert body["username"] == name
        assert body["display_name"] == "Li Wei"
        assert body["roles"] == ["auditor", "reviewer"]
        assert (body["active"], body["has_password"], body["departments"]) == (True, True, [])
        assert "password" not in body
        actor, payload = last_entry(engine, "user.added", name)
        assert actor == f"user:{admin.username}"
        assert payload["roles"] == ["auditor", "reviewer"]
        assert signs_in(client, name, PASSWORD)

    def test_a_taken_username_is_a_conflict(self, client: TestClient, admin: Staff) -> None:
        taken = create(client, admin)["username"]
        sent = {"username": taken, "roles": ["auditor"], "password": PASSWORD}
        message = refused(client.post(USERS, json=sent, headers=admin.headers), 409)
        assert "already taken" in message

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"username": "Not A Staff Id"}, "username"),
            ({"roles": []}, "roles"),
            ({"roles": ["mayor"]}, "roles.0"),
            ({"password": "short"}, "password"),
            ({"password": " " * 20}, "password"),
            ({"display_name": "   "}, "display_name"),
            ({"display_name": "Li\u0000Wei"}, "display_name"),
            ({"password": None}, "password"),
        ],
    )
    def test_bad_input_names_the_field(
        self, client: TestClient, admin: Staff, change: dict[str, Any], field: str
    ) -> None:
        sent = {"username": new_username(), "roles": ["auditor"], "password": PASSWORD, **change}
        refused(client.post(USERS, json=sent, headers=admin.headers), 422, field)


class TestRead:
    def test_list_filters_by_role_and_activity(
        self, client: TestClient, engine: Engine, admin: Staff
    ) -> None:
        auditor = create(client, admin, roles=["auditor"])["username"]
        worker = create(client, admin, roles=["field_staff"])["username"]
        ok(client.post(f"{USERS}/{worker}/disable", json={"reason": "left"}, headers=admin.headers))
        listed = client.get(USERS, headers=admin.headers)
        names = [user["username"] for user in ok(listed)]
        assert {auditor, worker} <= set(names)
        assert names == sorted(names)
        auditors = ok(client.get(USERS, params={"role": "auditor"}, headers=admin.headers))
        assert auditor in {u["username"] for u in auditors}
        assert worker not in {u["username"] for u in auditors}
        active = ok(client.get(USERS, params={"active_only": "true"}, headers=admin.headers))
        assert worker not in {u["username"] for u in active}
        refused(client.get(USERS, params={"role": "mayor"}, headers=admin.headers), 422, "role")

    def test_one_user_and_an_unknown_one(self, client: TestClient, admin: Staff) -> None:
        name = create(client, admin)["username"]
        assert ok(client.get(f"{USERS}/{name}", headers=admin.headers))["username"] == name
        refused(client.get(f"{USERS}/{new_username()}", headers=admin.headers), 404)
        # No user can be named so (and PostgreSQL cannot even compare a NUL).
        refused(client.get(f"{USERS}/a%00b", headers=admin.headers), 422, "username")
        refused(client.get(f"{USERS}/Li%20Wei", headers=admin.headers), 422, "username")


class TestRoles:
    def test_replaces_the_roles_on_the_ledger(
        self, client: TestClient, engine: Engine, admin: Staff
    ) -> None:
        name = create(client, admin, roles=["field_staff"])["username"]
        sent = {"roles": ["reviewer", "field_staff"], "reason": "joins the review team"}
        body = ok(client.put(f"{USERS}/{name}/roles", json=sent, headers=admin.headers))
        assert body["roles"] == ["field_staff", "reviewer"]
        actor, payload = last_entry(engine, "user.roles_changed", name)
        assert actor == f"user:{admin.username}"
        assert (payload["roles_before"], payload["roles_after"]) == (
            ["field_staff"],
            ["field_staff", "reviewer"],
        )
        assert payload["reason"] == "joins the review team"

    def test_no_longer_field_staff_leaves_their_departments(
        self, client: TestClient, engine: Engine, admin: Staff
    ) -> None:
        name = create(client, admin, roles=["field_staff"])["username"]
        sent = {"add": ["Roads", "Parks"], "reason": "covers both teams"}
        ok(client.post(f"{USERS}/{name}/departments", json=sent, headers=admin.headers))
        path = f"{USERS}/{name}/roles"
        sent = {"roles": ["auditor"], "reason": "moved to audit"}
        body = ok(client.put(path, json=sent, headers=admin.headers))
        assert (body["roles"], body["departments"]) == (["auditor"], [])
        assert body["departments_removed"] == ["Parks", "Roads"]
        _, payload = last_entry(engine, "user.roles_changed", name)
        assert payload["departments_removed"] == ["Parks", "Roads"]
        assert ok(client.get(f"{USERS}/{name}", headers=admin.headers))["departments"] == []
        sent = {"roles": ["reviewer"], "reason": "reviews now"}
        assert ok(client.put(path, json=sent, headers=admin.headers))["departments_removed"] == []

    def test_refusals(self, client: TestClient, admin: Staff) -> None:
        name = create(client, admin)["username"]
        path = f"{USERS}/{name}/roles"
        sent = {"roles": ["auditor"], "reason": "moved\u0007"}
        answer = client.put(path, json=sent, headers=admin.headers)
        assert refused(answer, 422, "reason") == (
            "reason: contains a control character U+0007 at position 6"
        )
        assert answer.json()["code"] == "control_characters"
        refused(client.put(path, json={"roles": [], "reason": "x"}, headers=admin.headers), 422)
        refused(client.put(path, json={"roles": ["auditor"]}, headers=admin.headers), 422, "reason")
        sent = {"roles": ["auditor"], "reason": "   "}
        refused(client.put(path, json=sent, headers=admin.headers), 422, "reason")
        unknown = f"{USERS}/{new_username()}/roles"
        sent = {"roles": ["auditor"], "reason": "x"}
        refused(client.put(unknown, json=sent, headers=admin.headers), 404)


class TestDepartments:
    def test_adds_and_removes_on_the_ledger(
        self, client: TestClient, engine: Engine, admin: Staff
    ) -> None:
        name = create(client, admin)["username"]
        path = f"{USERS}/{name}/departments"
        sent = {"add": ["Parks", "Roads"], "reason": "covers both teams"}
        assert ok(client.post(path, json=sent, headers=admin.headers))["departments"] == [
            "Parks",
            "Roads",
        ]
        sent = {"add": ["Harbour"], "remove": ["Parks"], "reason": "moved"}
        assert ok(client.post(path, json=sent, headers=admin.headers))["departments"] == [
            "Harbour",
            "Roads",
        ]
        actor, payload = last_entry(engine, "user.departments_changed", name)
        assert actor == f"user:{admin.username}"
        assert (payload["added"], payload["removed"]) == (["Harbour"], ["Parks"])
        assert ok(client.get(f"{USERS}/{name}", headers=admin.headers))["departments"] == [
            "Harbour",
            "Roads",
        ]

    @pytest.mark.parametrize(
        ("sent", "field"),
        [
            ({"add": ["Roads"]}, "add"),  # already theirs
            ({"remove": ["Parks"]}, "remove"),  # not theirs
            ({}, "departments"),
            ({"add": ["  "]}, "add"),
            ({"add": ["Par\u0000ks"]}, "add"),
            ({"add": ["Parks"], "remove": ["Parks"]}, "remove"),
        ],
    )
    def test_refusals_name_the_field(
        self, client: TestClient, admin: Staff, sent: dict[str, Any], field: str
    ) -> None:
        name = create(client, admin)["username"]
        path = f"{USERS}/{name}/departments"
        ok(client.post(path, json={"add": ["Roads"], "reason": "x"}, headers=admin.headers))
        answer = client.post(path, json={**sent, "reason": "x"}, headers=admin.headers)
        refused(answer, 422, field)

    def test_only_field_staff_are_given_departments(self, client: TestClient, admin: Staff) -> None:
        # The same rule as the web's form: it is identity's, not an adapter's.
        name = create(client, admin, roles=["reviewer"])["username"]
        path = f"{USERS}/{name}/departments"
        answer = client.post(path, json={"add": ["Roads"], "reason": "x"}, headers=admin.headers)
        assert "field staff" in refused(answer, 422, "add")
        assert answer.json()["code"] == "not_field_staff"  # for machines, beside the reason
        assert ok(client.get(f"{USERS}/{name}", headers=admin.headers))["departments"] == []


class TestDisableAndEnable:
    def test_a_disabled_user_stops_at_once_and_comes_back_when_enabled(
        self, client: TestClient, engine: Engine, admin: Staff
    ) -> None:
        worker = make_staff(engine, Role.FIELD_STAFF)
        me = "/api/v1/auth/me"
        assert client.get(me, headers=worker.headers).status_code == 200
        path = f"{USERS}/{worker.username}"
        body = ok(client.post(f"{path}/disable", json={"reason": "left"}, headers=admin.headers))
        assert (body["active"], body["disabled_at"] is not None) == (False, True)
        assert client.get(me, headers=worker.headers).status_code == 401
        assert not signs_in(client, worker.username, PASSWORD)
        actor, payload = last_entry(engine, "user.disabled", worker.username)
        assert (actor, payload["reason"]) == (f"user:{admin.username}", "left")
        again = client.post(f"{path}/disable", json={"reason": "left"}, headers=admin.headers)
        assert "disabled" in refused(again, 409)
        body = ok(client.post(f"{path}/enable", json={"reason": "back"}, headers=admin.headers))
        assert (body["active"], body["disabled_at"]) == (True, None)
        assert client.get(me, headers=worker.headers).status_code == 200
        assert last_entry(engine, "user.enabled", worker.username)[0] == f"user:{admin.username}"
        again = client.post(f"{path}/enable", json={"reason": "back"}, headers=admin.headers)
        assert "already active" in refused(again, 409)

    def test_an_administrator_may_not_disable_themself(
        self, client: TestClient, engine: Engine
    ) -> None:
        admin = make_staff(engine, Role.ADMINISTRATOR)
        path = f"{USERS}/{admin.username}/disable"
        refused(client.post(path, json={"reason": "x"}, headers=admin.headers), 409)
        assert client.get("/api/v1/auth/me", headers=admin.headers).status_code == 200

    def test_needs_a_reason(self, client: TestClient, admin: Staff) -> None:
        name = create(client, admin)["username"]
        refused(client.post(f"{USERS}/{name}/disable", json={}, headers=admin.headers), 422)


class TestPasswordReset:
    def test_the_new_password_replaces_the_old(
        self, client: TestClient, engine: Engine, admin: Staff
    ) -> None:
        name = create(client, admin)["username"]
        path = f"{USERS}/{name}/password"
        ok(client.put(path, json={"password": NEW_PASSWORD}, headers=admin.headers))
        assert signs_in(client, name, NEW_PASSWORD)
        assert not signs_in(client, name, PASSWORD)
        actor, payload = last_entry(engine, "user.password_set", name)
        assert actor == f"user:{admin.username}"
        assert NEW_PASSWORD not in json.dumps(payload)

    def test_ends_the_users_sessions_but_not_their_tokens(
        self, client: TestClient, engine: Engine, admin: Staff
    ) -> None:
        worker = make_staff(engine, Role.FIELD_STAFF)
        signed = client.post(
            "/api/v1/auth/session", json={"username": worker.username, "password": PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        cookie = signed.cookies[SESSION_COOKIE]
        client.cookies.clear()

        def me_by_cookie() -> int:
            client.cookies.set(SESSION_COOKIE, cookie)
            try:
                return client.get("/api/v1/auth/me").status_code
            finally:
                client.cookies.clear()

        assert me_by_cookie() == 200
        path = f"{USERS}/{worker.username}/password"
        ok(client.put(path, json={"password": NEW_PASSWORD}, headers=admin.headers))
        assert me_by_cookie() == 401
        assert client.get("/api/v1/auth/me", headers=worker.headers).status_code == 200
        actor, payload = last_entry(engine, "user.password_set", worker.username)
        assert (actor, payload) == (
            f"user:{admin.username}",
            {"username": worker.username, "sessions_ended": 1},
        )

    def test_refusals(self, client: TestClient, admin: Staff) -> None:
        name = create(client, admin)["username"]
        path = f"{USERS}/{name}/password"
        refused(
            client.put(path, json={"password": "short"}, headers=admin.headers), 422, "password"
        )
        sent = {"password": " " * 20}
        refused(client.put(path, json=sent, headers=admin.headers), 422, "password")
        ok(client.post(f"{USERS}/{name}/disable", json={"reason": "x"}, headers=admin.headers))
        sent = {"password": NEW_PASSWORD}
        assert "disabled" in refused(client.put(path, json=sent, headers=admin.headers), 409)

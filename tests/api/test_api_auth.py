"""Sign-in, sessions with CSRF, API tokens, and the edge mapping of auth errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cogov.core.types import Role
from cogov.db.session import unit_of_work
from cogov.identity import disable_user
from tests.api.support import PASSWORD, Staff, build_app, make_staff

SESSION = "/api/v1/auth/session"
ME = "/api/v1/auth/me"
TOKENS = "/api/v1/auth/tokens"


def sign_in(client: TestClient, user: Staff) -> str:
    response = client.post(SESSION, json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


class TestPasswordSignIn:
    def test_sets_an_httponly_lax_cookie_and_returns_the_csrf_token(
        self, client: TestClient, staff: dict[Role, Staff]
    ) -> None:
        user = staff[Role.REVIEWER]
        response = client.post(SESSION, json={"username": user.username, "password": PASSWORD})
        assert response.status_code == 200
        cookie = response.headers["set-cookie"]
        assert "cogov_session=" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
        assert "Secure" not in cookie
        body = response.json()
        assert body["username"] == user.username
        assert body["roles"] == ["reviewer"]
        assert len(body["csrf_token"]) >= 40

    def test_secure_cookie_when_configured(self, engine: Engine, data_dir: Path) -> None:
        user = make_staff(engine, Role.AUDITOR)
        app = build_app(engine, data_dir, session_cookie_secure=True)
        with TestClient(app) as client:
            response = client.post(SESSION, json={"username": user.username, "password": PASSWORD})
        assert "Secure" in response.headers["set-cookie"]

    def test_wrong_password_unknown_user_and_disabled_user_look_the_same(
        self, client: TestClient, engine: Engine
    ) -> None:
        admin = make_staff(engine, Role.ADMINISTRATOR)
        victim = make_staff(engine, Role.REVIEWER)
        with unit_of_work(engine) as session:
            disable_user(session, username=victim.username, by=admin.username, reason="left")
        answers = [
            client.post(SESSION, json={"username": admin.username, "password": "wrong" * 3}),
            client.post(SESSION, json={"username": "nobody-here", "password": PASSWORD}),
            client.post(SESSION, json={"username": victim.username, "password": PASSWORD}),
        ]
        assert {answer.status_code for answer in answers} == {401}
        assert len({answer.json()["message"] for answer in answers}) == 1

    def test_missing_fields_name_the_field(self, client: TestClient) -> None:
        response = client.post(SESSION, json={"username": "x"})
        assert response.status_code == 422
        assert response.json()["field"] == "password"


class TestSessionCookie:
    def test_me_with_the_cookie(self, client: TestClient, staff: dict[Role, Staff]) -> None:
        sign_in(client, staff[Role.AUDITOR])
        response = client.get(ME)
        assert response.status_code == 200
        assert response.json()["method"] == "session"
        assert response.json()["roles"] == ["auditor"]

    def test_state_change_without_csrf_token_is_refused(
        self, client: TestClient, staff: dict[Role, Staff]
    ) -> None:
        sign_in(client, staff[Role.AUDITOR])
        response = client.post(TOKENS, json={"name": "laptop"})
        assert response.status_code == 403
        assert "CSRF" in response.json()["message"]

    def test_state_change_with_wrong_csrf_token_is_refused(
        self, client: TestClient, staff: dict[Role, Staff]
    ) -> None:
        sign_in(client, staff[Role.AUDITOR])
        response = client.post(TOKENS, json={"name": "x"}, headers={"X-CSRF-Token": "nope"})
        assert response.status_code == 403

    def test_state_change_with_the_csrf_header_works(
        self, client: TestClient, staff: dict[Role, Staff]
    ) -> None:
        csrf = sign_in(client, staff[Role.AUDITOR])
        response = client.post(TOKENS, json={"name": "laptop"}, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 201

    def test_sign_out_ends_the_session(self, client: TestClient, staff: dict[Role, Staff]) -> None:
        csrf = sign_in(client, staff[Role.AUDITOR])
        cookie = client.cookies.get("cogov_session")
        assert client.delete(SESSION, headers={"X-CSRF-Token": csrf}).status_code == 204
        # Even a copy of the old cookie no longer works.
        client.cookies.set("cogov_session", cookie or "")
        assert client.get(ME).status_code == 401

    def test_a_disabled_user_loses_their_session_at_once(
        self, client: TestClient, engine: Engine
    ) -> None:
        admin = make_staff(engine, Role.ADMINISTRATOR)
        user = make_staff(engine, Role.REVIEWER)
        sign_in(client, user)
        with unit_of_work(engine) as session:
            disable_user(session, username=user.username, by=admin.username, reason="left")
        assert client.get(ME).status_code == 401

    def test_a_forged_cookie_is_just_anonymous(self, client: TestClient) -> None:
        client.cookies.set("cogov_session", "forged")
        assert client.get(ME).status_code == 401
        assert client.get("/open311/v2/services.json").status_code == 200


class TestStaffErrors:
    def test_unknown_route_and_method_are_json_errors(self, client: TestClient) -> None:
        missing = client.get("/api/v1/nothing-here")
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"
        wrong = client.put(ME)
        assert wrong.status_code == 405
        assert wrong.json()["error"] == "method_not_allowed"

    def test_an_unforeseen_failure_is_a_500_in_the_callers_shape(
        self, engine: Engine, data_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from cogov.api.open311 import records

        def broken(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(records, "find_requests", broken)
        app = build_app(engine, data_dir)
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/open311/v2/requests.xml")
        assert response.status_code == 500
        assert "<code>500</code>" in response.text
        assert "disk on fire" not in response.text

    def test_openapi_is_served_with_both_security_schemes(self, client: TestClient) -> None:
        schema = client.get("/openapi.json").json()
        assert set(schema["components"]["securitySchemes"]) >= {"apiToken", "sessionCookie"}
        assert "/open311/v2/requests.{format}" in schema["paths"]


class TestApiTokens:
    def test_bearer_token_signs_in_without_csrf(
        self, client: TestClient, staff: dict[Role, Staff]
    ) -> None:
        user = staff[Role.FIELD_STAFF]
        me = client.get(ME, headers=user.headers)
        assert me.status_code == 200
        assert me.json()["method"] == "token"
        created = client.post(TOKENS, json={"name": "cron"}, headers=user.headers)
        assert created.status_code == 201
        assert created.json()["secret"].startswith("cgv_")

    def test_a_wrong_token_is_401_with_a_bearer_challenge(self, client: TestClient) -> None:
        response = client.get(ME, headers={"Authorization": "Bearer cgv_wrong"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    def test_a_wrong_token_is_401_even_on_public_routes(self, client: TestClient) -> None:
        response = client.get(
            "/api/v1/ledger/public-key", headers={"Authorization": "Bearer cgv_wrong"}
        )
        # The public key needs no sign-in, so the bad header is not even looked at.
        assert response.status_code == 200

    def test_issue_list_revoke(self, client: TestClient, staff: dict[Role, Staff]) -> None:
        user = staff[Role.REVIEWER]
        issued = client.post(TOKENS, json={"name": "script"}, headers=user.headers).json()
        listed = client.get(TOKENS, headers=user.headers).json()
        assert issued["token"]["id"] in {token["id"] for token in listed}
        assert all("secret" not in token for token in listed)
        new_headers = {"Authorization": f"Bearer {issued['secret']}"}
        assert client.get(ME, headers=new_headers).status_code == 200
        revoked = client.delete(f"{TOKENS}/{issued['token']['id']}", headers=user.headers)
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        assert client.get(ME, headers=new_headers).status_code == 401

    def test_expired_token_is_refused(self, client: TestClient, staff: dict[Role, Staff]) -> None:
        user = staff[Role.REVIEWER]
        past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        response = client.post(
            TOKENS, json={"name": "old", "expires_at": past}, headers=user.headers
        )
        assert response.status_code == 422
        assert response.json()["field"] == "expires_at"

    def test_someone_elses_token_cannot_be_revoked_and_is_not_revealed(
        self, client: TestClient, staff: dict[Role, Staff]
    ) -> None:
        owner, other = staff[Role.REVIEWER], staff[Role.AUDITOR]
        issued = client.post(TOKENS, json={"name": "mine"}, headers=owner.headers).json()
        response = client.delete(f"{TOKENS}/{issued['token']['id']}", headers=other.headers)
        assert response.status_code == 404

    def test_administrator_issues_for_others_and_lists_all(
        self, client: TestClient, staff: dict[Role, Staff]
    ) -> None:
        admin, reviewer = staff[Role.ADMINISTRATOR], staff[Role.REVIEWER]
        issued = client.post(
            TOKENS, json={"name": "for them", "username": reviewer.username}, headers=admin.headers
        )
        assert issued.status_code == 201
        assert issued.json()["token"]["username"] == reviewer.username
        everyone = client.get(TOKENS, params={"all": "true"}, headers=admin.headers).json()
        assert reviewer.username in {token["username"] for token in everyone}

    def test_non_administrators_may_not_issue_for_others_or_list_all(
        self, client: TestClient, staff: dict[Role, Staff]
    ) -> None:
        reviewer, auditor = staff[Role.REVIEWER], staff[Role.AUDITOR]
        other = client.post(
            TOKENS, json={"name": "x", "username": auditor.username}, headers=reviewer.headers
        )
        assert other.status_code == 403
        assert (
            client.get(TOKENS, params={"all": "true"}, headers=reviewer.headers).status_code == 403
        )

    def test_unknown_token_id_is_404(self, client: TestClient, staff: dict[Role, Staff]) -> None:
        admin = staff[Role.ADMINISTRATOR]
        assert client.delete(f"{TOKENS}/nope", headers=admin.headers).status_code == 404

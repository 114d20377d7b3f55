"""Each role sees and does only what it should on the staff pages: every /staff route,
called by a visitor and by each staff role. A role outside a route's list gets 403; a
role inside it gets past the door (whatever the page then says about the request); a
visitor is sent to sign in (a page) or refused (a form). A new /staff route must take
its place here (the last test fails otherwise)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cogov.core.types import Role
from cogov.web.routes import ROUTERS
from tests.conftest import BACKENDS
from tests.web.conftest import app_on, csrf_of, sign_in

ADMIN, REVIEWER, FIELD, AUDITOR = (
    Role.ADMINISTRATOR,
    Role.REVIEWER,
    Role.FIELD_STAFF,
    Role.AUDITOR,
)
STAFF = frozenset(Role)
# One user of each role (tests/web/conftest.py makes them).
CALLERS: dict[Role | None, str | None] = {
    None: None,
    ADMIN: "admin",
    REVIEWER: "rita",
    FIELD: "fay",
    AUDITOR: "aud",
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    allowed: frozenset[Role]

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def only(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


ROUTES = [
    Route("GET", "/staff", STAFF),
    # assisted entry: staff who meet citizens, not auditors
    Route("GET", "/staff/intake", only(ADMIN, REVIEWER, FIELD)),
    Route("POST", "/staff/intake", only(ADMIN, REVIEWER, FIELD)),
    # registry: staff who oversee read; administrators act; guardians pause
    Route("GET", "/staff/registry", only(ADMIN, REVIEWER, AUDITOR)),
    Route("GET", "/staff/registry/file", only(ADMIN)),
    Route("POST", "/staff/registry/file", only(ADMIN)),
    Route("GET", "/staff/registry/nope", only(ADMIN, REVIEWER, AUDITOR)),
    Route("POST", "/staff/registry/nope/step", only(ADMIN)),
    Route("POST", "/staff/registry/nope/guardians", only(ADMIN)),
    Route("POST", "/staff/registry/nope/kill-switch", only(ADMIN, REVIEWER)),
    # ledger and audits: auditors and administrators; administrators sign checkpoints
    Route("GET", "/staff/ledger", only(AUDITOR, ADMIN)),
    Route("GET", "/staff/ledger/verify", only(AUDITOR, ADMIN)),
    Route("GET", "/staff/ledger/find", only(AUDITOR, ADMIN)),
    Route("GET", "/staff/ledger/1", only(AUDITOR, ADMIN)),
    Route("POST", "/staff/ledger/checkpoint", only(ADMIN)),
    Route("GET", "/staff/audits", only(AUDITOR, ADMIN)),
    Route("POST", "/staff/audits/publish", only(AUDITOR, ADMIN)),
    # review and appeals: reviewers
    Route("GET", "/staff/review", only(REVIEWER)),
    Route("GET", "/staff/review/nope", only(REVIEWER)),
    Route("POST", "/staff/review/nope/claim", only(REVIEWER)),
    Route("POST", "/staff/review/nope/release", only(REVIEWER)),
    Route("POST", "/staff/review/nope/decide", only(REVIEWER)),
    Route("POST", "/staff/review/nope/merge", only(REVIEWER)),
    Route("GET", "/staff/appeals/nope", only(REVIEWER)),
    Route("POST", "/staff/appeals/nope", only(REVIEWER)),
    Route("GET", "/staff/appeal-for-citizen", only(REVIEWER)),
    Route("GET", "/staff/cases/nope/appeal", only(REVIEWER)),
    Route("POST", "/staff/cases/nope/appeal", only(REVIEWER)),
    # field work: field staff
    Route("GET", "/staff/work", only(FIELD)),
    Route("GET", "/staff/work/nope", only(FIELD)),
    Route("POST", "/staff/work/nope/start", only(FIELD)),
    Route("POST", "/staff/work/nope/resolve", only(FIELD)),
    # staff users: administrators only
    Route("GET", "/staff/users", only(ADMIN)),
    Route("GET", "/staff/users/new", only(ADMIN)),
    Route("POST", "/staff/users/new", only(ADMIN)),
    Route("GET", "/staff/users/rita", only(ADMIN)),
    Route("POST", "/staff/users/rita/roles", only(ADMIN)),
    Route("POST", "/staff/users/rita/departments", only(ADMIN)),
    Route("POST", "/staff/users/rita/status", only(ADMIN)),
    Route("POST", "/staff/users/rita/password", only(ADMIN)),
]
# Open to visitors by nature (signing in and out); their own tests are in test_pages.py.
EXEMPT = {("GET", "/staff/sign-in"), ("POST", "/staff/sign-in"), ("POST", "/staff/sign-out")}
PATH_PARAMETERS = {
    "{agent_id}": "nope",
    "{seq}": "1",
    "{item_id}": "nope",
    "{appeal_id}": "nope",
    "{case_id}": "nope",
    "{username}": "rita",
}


@pytest.fixture(scope="module", params=BACKENDS)
def matrix_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    """The pages without agents, on SQLite and (when configured) PostgreSQL."""
    with app_on(request.param, tmp_path_factory.mktemp("role-matrix")) as application:
        yield application


@pytest.fixture(scope="module")
def callers(matrix_app: FastAPI) -> Iterator[dict[Role | None, tuple[TestClient, str]]]:
    """A client of each caller, signed in once, with the CSRF token of its session."""
    clients: dict[Role | None, tuple[TestClient, str]] = {}
    for role, username in CALLERS.items():
        client = TestClient(matrix_app, follow_redirects=False)
        client.__enter__()
        if username:
            sign_in(client, username)
        # A visitor's token is the double-submit cookie's, as any public form carries.
        page = client.get("/staff" if username else "/staff/sign-in")
        clients[role] = (client, csrf_of(page.text))
    yield clients
    for client, _ in clients.values():
        client.__exit__(None, None, None)


@pytest.mark.parametrize("caller", list(CALLERS), ids=lambda c: c.value if c else "visitor")
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_role_matrix(
    callers: dict[Role | None, tuple[TestClient, str]], route: Route, caller: Role | None
) -> None:
    client, token = callers[caller]
    if route.method == "GET":
        response = client.get(route.path)
    else:
        response = client.post(route.path, data={"csrf_token": token})
    status = response.status_code
    if caller is None and route.method == "GET":
        assert status == 303, f"{route.id} must send a visitor to sign in"
        assert response.headers["location"].startswith("/staff/sign-in")
    elif caller is None:
        assert status == 401, f"{route.id} must refuse a visitor"
    elif caller in route.allowed:
        assert status not in (401, 403), f"{route.id} must let a {caller.value} in"
    else:
        assert status == 403, f"{route.id} must refuse a {caller.value}"


def test_every_staff_route_is_in_the_matrix() -> None:
    covered = {(route.method, route.path) for route in ROUTES} | EXEMPT
    missing = []
    for router in ROUTERS:
        for route in router.routes:
            path = getattr(route, "path", "")
            if not path.startswith("/staff"):
                continue
            for name, value in PATH_PARAMETERS.items():
                path = path.replace(name, value)
            for method in getattr(route, "methods", ()):
                if (method, path) not in covered:
                    missing.append(f"{method} {path}")
    assert missing == []

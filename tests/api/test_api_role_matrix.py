"""Each role sees and does only what it should: every protected route, called by
anonymous visitors and by each staff role. A role outside a route's list gets 401
(nobody signed in) or 403; a role inside it gets past the door (whatever the route
then says about the request itself)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cogov.core.types import Role
from tests.api.support import Staff

ADMIN, REVIEWER, FIELD, AUDITOR = (
    Role.ADMINISTRATOR,
    Role.REVIEWER,
    Role.FIELD_STAFF,
    Role.AUDITOR,
)
STAFF = frozenset(Role)
PUBLIC = "public"  # anyone, signed in or not


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    allowed: frozenset[Role] | str
    json: dict[str, Any] | None = None
    data: dict[str, str] | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


REASON = {"reason": "matrix"}
ROUTES = [
    # sign-in and tokens: every staff member, for themselves
    Route("GET", "/api/v1/auth/me", STAFF),
    Route("GET", "/api/v1/auth/tokens", STAFF),
    Route("POST", "/api/v1/auth/tokens", STAFF, json={"name": "matrix"}),
    Route("DELETE", "/api/v1/auth/tokens/nope", STAFF),
    Route("DELETE", "/api/v1/auth/session", STAFF),
    # registry: staff read; administrators file and step; guardians (reviewers) pause
    Route("GET", "/api/v1/registry/public", PUBLIC),
    Route("GET", "/api/v1/registry/agents", STAFF),
    Route("GET", "/api/v1/registry/agents/nope", STAFF),
    Route("GET", "/api/v1/registry/agents/nope/filings", STAFF),
    Route("GET", "/api/v1/registry/agents/nope/filings/1", STAFF),
    Route("GET", "/api/v1/registry/agents/nope/history", STAFF),
    Route("POST", "/api/v1/registry/filings", frozenset({ADMIN}), json={}),
    Route(
        "POST",
        "/api/v1/registry/agents/nope/transitions",
        frozenset({ADMIN}),
        json={"step": "submit", **REASON},
    ),
    Route(
        "PUT",
        "/api/v1/registry/agents/nope/guardians",
        frozenset({ADMIN}),
        json={"guardian": "a", "backup_guardian": "b", **REASON},
    ),
    Route("POST", "/api/v1/registry/agents/nope/pause", frozenset({ADMIN, REVIEWER}), json=REASON),
    Route("POST", "/api/v1/registry/agents/nope/resume", frozenset({ADMIN, REVIEWER}), json=REASON),
    # ledger: auditors and administrators; reviewers read a case's trail
    Route("GET", "/api/v1/ledger/public-key", PUBLIC),
    Route("GET", "/api/v1/ledger/verify", frozenset({AUDITOR, ADMIN})),
    Route("GET", "/api/v1/ledger/checkpoint", frozenset({AUDITOR, ADMIN})),
    Route("POST", "/api/v1/ledger/checkpoint", frozenset({ADMIN})),
    Route("GET", "/api/v1/ledger/proofs/inclusion", frozenset({AUDITOR, ADMIN}), params={"seq": 1}),
    Route(
        "GET",
        "/api/v1/ledger/proofs/consistency",
        frozenset({AUDITOR, ADMIN}),
        params={"old_size": 0},
    ),
    Route("GET", "/api/v1/ledger/cases/nope/entries", frozenset({AUDITOR, ADMIN, REVIEWER})),
    # audits: auditors and administrators
    Route("GET", "/api/v1/audits/live", frozenset({AUDITOR, ADMIN}), params={"replicates": 20}),
    Route("GET", "/api/v1/audits/responsibility", frozenset({AUDITOR, ADMIN})),
    Route("GET", "/api/v1/audits/responsibility/cases/nope", frozenset({AUDITOR, ADMIN})),
    # review: reviewers decide; administrators and auditors look on
    Route("GET", "/api/v1/review/queue", frozenset({REVIEWER, ADMIN, AUDITOR})),
    Route("GET", "/api/v1/review/reason-codes", frozenset({REVIEWER, ADMIN, AUDITOR})),
    Route("GET", "/api/v1/review/items/nope", frozenset({REVIEWER, ADMIN, AUDITOR})),
    Route("GET", "/api/v1/review/cases/nope/decisions", frozenset({REVIEWER, ADMIN, AUDITOR})),
    Route("POST", "/api/v1/review/cases/nope/merge", frozenset({REVIEWER}), json={"into": "other"}),
    Route("POST", "/api/v1/review/claim-next", frozenset({REVIEWER}), json={}),
    Route("POST", "/api/v1/review/items/nope/claim", frozenset({REVIEWER})),
    Route("POST", "/api/v1/review/items/nope/release", frozenset({REVIEWER})),
    Route("POST", "/api/v1/review/items/nope/approve", frozenset({REVIEWER}), json={}),
    Route(
        "POST",
        "/api/v1/review/items/nope/edit",
        frozenset({REVIEWER}),
        json={"new_value": "Parks", "reason_code": "local_knowledge"},
    ),
    Route(
        "POST",
        "/api/v1/review/items/nope/reject",
        frozenset({REVIEWER}),
        json={"reason_code": "local_knowledge"},
    ),
    # appeals: reviewers decide (and enter them for citizens); oversight reads
    Route("GET", "/api/v1/appeals", frozenset({REVIEWER, ADMIN, AUDITOR})),
    Route("GET", "/api/v1/appeals/nope", frozenset({REVIEWER, ADMIN, AUDITOR})),
    Route(
        "POST",
        "/api/v1/appeals/nope/decide",
        frozenset({REVIEWER}),
        json={"outcome": "upheld", "reason": "matrix"},
    ),
    Route(
        "POST",
        "/api/v1/appeals",
        frozenset({REVIEWER}),
        json={"token": "nope", "proposal_id": "nope", "grounds": "matrix"},
    ),
    # assisted entry: staff who meet citizens (not auditors, who only read)
    Route(
        "POST",
        "/api/v1/requests",
        frozenset({FIELD, REVIEWER, ADMIN}),
        json={"service_code": "noise", "description": "matrix", "channel": "phone"},
    ),
    # staff users: administrators only
    Route("GET", "/api/v1/users", frozenset({ADMIN})),
    Route("GET", "/api/v1/users/nope", frozenset({ADMIN})),
    Route("POST", "/api/v1/users", frozenset({ADMIN}), json={}),
    Route(
        "PUT", "/api/v1/users/nope/roles", frozenset({ADMIN}), json={"roles": ["auditor"], **REASON}
    ),
    Route(
        "POST",
        "/api/v1/users/nope/departments",
        frozenset({ADMIN}),
        json={"add": ["Parks"], **REASON},
    ),
    Route("POST", "/api/v1/users/nope/disable", frozenset({ADMIN}), json=REASON),
    Route("POST", "/api/v1/users/nope/enable", frozenset({ADMIN}), json=REASON),
    Route("PUT", "/api/v1/users/nope/password", frozenset({ADMIN}), json={"password": "x" * 16}),
    # Open311: the public, citizens included
    Route("GET", "/open311/v2/services.json", PUBLIC),
    Route("GET", "/open311/v2/services/noise.xml", PUBLIC),
    Route("GET", "/open311/v2/requests.json", PUBLIC),
    Route("GET", "/open311/v2/requests/nope.json", PUBLIC),
    Route("GET", "/open311/v2/tokens/nope.json", PUBLIC),
    Route("GET", "/open311/v2/cogov/follow/nope.json", PUBLIC),
    Route(
        "POST",
        "/open311/v2/cogov/appeals.json",
        PUBLIC,
        data={"token": "nope", "proposal_id": "nope", "grounds": "matrix"},
    ),
    Route(
        "POST",
        "/open311/v2/requests.json",
        PUBLIC,
        data={"service_code": "noise", "description": "matrix"},
    ),
]
CALLERS: list[Role | None] = [None, *Role]
# Open to everyone by nature and answering 401 for wrong credentials by design; its
# own tests are in test_api_auth.py.
EXEMPT = {("POST", "/api/v1/auth/session")}


def _call(client: TestClient, route: Route, staff: Staff | None) -> int:
    headers = staff.headers if staff else {}
    response = client.request(
        route.method,
        route.path,
        json=route.json,
        data=route.data,
        params=route.params,
        headers=headers,
    )
    return response.status_code


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.value if c else "anonymous")
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_role_matrix(
    client: TestClient, staff: dict[Role, Staff], route: Route, caller: Role | None
) -> None:
    status = _call(client, route, staff[caller] if caller else None)
    if route.allowed == PUBLIC:
        assert status not in (401, 403), f"{route.id} must be open to everyone"
    elif caller is None:
        assert status == 401, f"{route.id} must ask anonymous callers to sign in"
    elif caller in route.allowed:
        assert status not in (401, 403), f"{route.id} must let a {caller.value} in"
    else:
        assert status == 403, f"{route.id} must refuse a {caller.value}"


def test_every_api_route_is_in_the_matrix(client: TestClient) -> None:
    """A new staff route must take a place in the matrix."""
    covered = {(route.method, route.path) for route in ROUTES} | EXEMPT
    schema = client.get("/openapi.json").json()
    missing = []
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method in operations:
            concrete = path.replace("{agent_id}", "nope").replace("{version}", "1")
            for name in ("token_id", "case_id", "item_id", "appeal_id", "username"):
                concrete = concrete.replace("{" + name + "}", "nope")
            if (method.upper(), concrete) not in covered and "{" not in concrete:
                missing.append(f"{method.upper()} {path}")
            elif "{" in concrete:
                missing.append(f"{method.upper()} {path} (unknown path parameter)")
    assert missing == []

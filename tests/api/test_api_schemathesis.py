"""Property-based requests generated from the OpenAPI schema (schemathesis): no
route may answer with a server error, whatever it is sent, signed in with every
role. Kept small (a few examples per operation) so it runs in well under a minute."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import Engine

from cogov.core.types import Role
from tests.api.support import build_app, make_staff

EXAMPLES_PER_OPERATION = 4


def test_no_server_errors(engine: Engine, data_dir: Path) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the schema is the same on every database: fuzzed once, on SQLite")
    app = build_app(engine, data_dir)
    # A user holding every role, so each route is exercised past its door.
    everyone = make_staff(engine, *Role, password=None)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    failures: list[str] = []
    calls: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: schemathesis.Case) -> None:
            calls.append(1)
            response = case.call(headers=everyone.headers)
            case.validate_response(response, checks=(not_a_server_error,))

        try:
            exercise()
        except Exception as exc:  # collect them all, then report every operation at fault
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert failures == []
    assert len(calls) >= 2 * len(operations)

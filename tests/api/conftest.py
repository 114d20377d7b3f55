"""Fixtures for the HTTP service: the application on a real engine (SQLite, and
PostgreSQL when configured), a client, and staff users of every role with tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import Staff, build_app, make_staff
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cogov.core.types import Role


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> FastAPI:
    return build_app(engine, tmp_path)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


_STAFF: dict[str, dict[Role, Staff]] = {}


@pytest.fixture
def staff(engine: Engine) -> dict[Role, Staff]:
    """One user per role, each with an API token (made once per database: hashing
    passwords with argon2 is slow on purpose). Tests that disable or change a user
    make their own with ``make_staff``."""
    key = engine.url.render_as_string()
    if key not in _STAFF:
        _STAFF[key] = {role: make_staff(engine, role) for role in Role}
    return _STAFF[key]

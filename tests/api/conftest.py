"""Fixtures for the HTTP service: the application on a real engine (SQLite, and
PostgreSQL when configured), a client, and staff users of every role with tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cogov.core.types import Role
from tests.api.support import Staff, build_app, make_staff

_DATA_DIRS: dict[str, Path] = {}


@pytest.fixture
def data_dir(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data directory per database, as in a deployment: the ledger's signing key
    and the citizen-token key belong with the database they sign and open."""
    key = engine.url.render_as_string()
    if key not in _DATA_DIRS:
        _DATA_DIRS[key] = tmp_path_factory.mktemp("data")
    return _DATA_DIRS[key]


_APPS: dict[str, FastAPI] = {}


@pytest.fixture
def app(engine: Engine, data_dir: Path) -> FastAPI:
    """The application with default settings (built once per database; tests that
    need other settings build their own with ``build_app``)."""
    key = engine.url.render_as_string()
    if key not in _APPS:
        _APPS[key] = build_app(engine, data_dir)
    return _APPS[key]


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

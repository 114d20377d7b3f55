"""Fixtures of the web UI tests: a real application on a fresh data directory (SQLite),
staff users of each role (field staff in their departments), and an HTTP client that
keeps cookies like a browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cogov.api.app import create_app
from cogov.core.settings import load_settings
from cogov.core.types import Role
from cogov.db.session import unit_of_work
from cogov.identity import add_user, change_departments
from tests.conftest import PG_URL, fresh_postgres_database

PASSWORD = "correct horse battery staple"
STAFF = {
    "admin": (Role.ADMINISTRATOR,),
    "admin2": (Role.ADMINISTRATOR,),
    "rita": (Role.REVIEWER,),
    "rob": (Role.REVIEWER,),
    "ray": (Role.REVIEWER,),  # no part in the router's decisions: may hear appeals
    "aud": (Role.AUDITOR,),
    "fay": (Role.FIELD_STAFF,),
    "sam": (Role.FIELD_STAFF,),
    "fred": (Role.FIELD_STAFF,),  # in no department yet
}
# The departments each field staff member works for (the router's routing values).
DEPARTMENTS = {"fay": ("Transport",), "sam": ("Sanitation", "Environment")}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(data_dir: Path, *, agents: bool = False, database_url: str | None = None) -> FastAPI:
    """The application on a fresh data directory with the staff above (on SQLite in
    the data directory unless ``database_url`` is given); with ``agents``, the test
    router is filed, activated and deployed (see agency.py)."""
    settings = load_settings(data_dir=data_dir, database_url=database_url, rate_limit_per_minute=0)
    app = create_app(settings)
    with unit_of_work(app.state.cogov.engine) as session:
        for username, roles in STAFF.items():
            add_user(session, username=username, roles=roles, password=PASSWORD)
        for username, departments in DEPARTMENTS.items():
            change_departments(
                session, username=username, add=departments, by="admin", reason="field team"
            )
    if agents:
        from tests.web.agency import deploy_router

        deploy_router(app)
    return app


@contextmanager
def app_on(backend: str, data_dir: Path, *, agents: bool = False) -> Iterator[FastAPI]:
    """make_app on "sqlite" (a file in ``data_dir``) or "postgresql" (a throw-away
    database; the test is skipped with the reason where none is configured)."""
    if backend != "sqlite" and not PG_URL:
        pytest.skip("PostgreSQL not configured: set COGOV_TEST_DATABASE_URL to run on it")
    with ExitStack() as stack:
        url = (
            stack.enter_context(fresh_postgres_database(PG_URL))
            if PG_URL and backend != "sqlite"
            else None
        )
        application = make_app(data_dir, agents=agents, database_url=url)
        try:
            yield application
        finally:
            application.state.cogov.engine.dispose()


@pytest.fixture(scope="module")
def web_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    app = make_app(tmp_path_factory.mktemp("web-data"))
    yield app
    app.state.cogov.engine.dispose()


@pytest.fixture
def client(web_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(web_app, follow_redirects=False) as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, username: str) -> None:
    page = client.get("/staff/sign-in")
    response = client.post(
        "/staff/sign-in",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "/staff",
        },
    )
    assert response.status_code == 303, response.text

"""Helpers for the HTTP service tests: the application on a real engine (SQLite, and
PostgreSQL when configured), a client, and staff users of every role with tokens.

The API commits (one unit of work per request), so these tests share the
session-wide engine: they name what they create uniquely and never count rows
they did not create.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine

from cogov.api import create_app
from cogov.core.settings import load_settings
from cogov.core.types import Role
from cogov.db.session import unit_of_work
from cogov.identity import add_user
from cogov.identity.access import issue_api_token

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Staff:
    username: str
    roles: tuple[Role, ...]
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_staff(engine: Engine, *roles: Role, password: str | None = PASSWORD) -> Staff:
    username = f"u-{uuid.uuid4().hex[:10]}"
    with unit_of_work(engine) as session:
        add_user(session, username=username, roles=roles, password=password)
        issued = issue_api_token(session, username=username, name="tests")
    return Staff(username=username, roles=roles, token=issued.secret)


def build_app(engine: Engine, data_dir: Path, **overrides: object) -> FastAPI:
    # Rate limits off unless a test turns them on: the tests post from one address.
    settings = load_settings(**{"data_dir": data_dir, "rate_limit_per_minute": 0, **overrides})
    return create_app(settings, engine=engine, migrate=False)

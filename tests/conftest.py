"""Shared fixtures: real databases, each test isolated in a rolled-back transaction.

Every test that takes ``db_session`` runs on SQLite, and also on PostgreSQL when
COGOV_TEST_DATABASE_URL is set (the PostgreSQL run is skipped, with the reason
shown, when the variable is unset).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from cogov.db.engine import make_engine
from cogov.db.migrate import upgrade

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PG_URL = os.environ.get("COGOV_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"]

# Property tests judge answers, never speed: Hypothesis's per-example deadline (200 ms
# by default) is a timing, and on a loaded CI machine it fails correct code.
settings.register_profile("cogov", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("cogov")


def shared_data(relative: str) -> Path:
    """Path of a file in ../shared/data; skips the test, saying why, where it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (see ../shared/data/README.md)")
    return path


@contextmanager
def fresh_postgres_database(url: str) -> Iterator[str]:
    """Create a database of its own for this test run (so parallel runs never
    share tables), yield its URL, and drop it afterwards."""
    admin_url = make_url(url)
    name = f"cogov_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fresh_migrated_database(backend: str, folder: Path) -> Iterator[tuple[str, Engine]]:
    """A migrated database of its own on ``backend`` ("sqlite": a file in ``folder``;
    "postgresql": a throw-away database, the test skipped with the reason where none is
    configured), for tests that commit (commands, timers); yields its URL and engine."""
    with ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{folder / 'fresh.sqlite3'}"
        else:
            if not PG_URL:
                pytest.skip("PostgreSQL not configured: set COGOV_TEST_DATABASE_URL to run on it")
            url = stack.enter_context(fresh_postgres_database(PG_URL))
        engine = make_engine(url)
        stack.callback(engine.dispose)
        upgrade(engine)
        yield url, engine


class _EnginesPerPackage:
    """Migrated engines made on first use, one per (backend, test package), so what
    one package's tests commit (HTTP requests commit, as in production) never shows
    up in another package's tests. Dropped at the end of the run."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory, stack: ExitStack) -> None:
        self._tmp = tmp_path_factory
        self._stack = stack
        self._engines: dict[tuple[str, str], Engine] = {}

    def get(self, backend: str, package: str) -> Engine:
        key = (backend, package)
        if key not in self._engines:
            if backend == "sqlite":
                url = f"sqlite:///{self._tmp.mktemp('db') / 'test.sqlite3'}"
            else:
                if not PG_URL:
                    pytest.skip(
                        "PostgreSQL not configured: set COGOV_TEST_DATABASE_URL to run on it"
                    )
                url = self._stack.enter_context(fresh_postgres_database(PG_URL))
            engine = make_engine(url)
            self._stack.callback(engine.dispose)
            upgrade(engine)
            self._engines[key] = engine
        return self._engines[key]


@pytest.fixture(scope="session")
def _engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_EnginesPerPackage]:
    with ExitStack() as stack:
        yield _EnginesPerPackage(tmp_path_factory, stack)


def _package_of(request: pytest.FixtureRequest) -> str:
    return str(request.node.path.parent)


@pytest.fixture
def sqlite_engine(request: pytest.FixtureRequest, _engines: _EnginesPerPackage) -> Engine:
    return _engines.get("sqlite", _package_of(request))


@pytest.fixture
def postgres_engine(request: pytest.FixtureRequest, _engines: _EnginesPerPackage) -> Engine:
    return _engines.get("postgresql", _package_of(request))


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, _engines: _EnginesPerPackage) -> Engine:
    """A migrated engine of each backend, shared by the tests of one test package.
    Tests that commit must clean up after themselves; prefer ``db_session``."""
    return _engines.get(request.param, _package_of(request))


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test.

    Code under test may call ``commit()``: with ``create_savepoint`` it only
    releases a savepoint, so nothing outlives the test.
    """
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()

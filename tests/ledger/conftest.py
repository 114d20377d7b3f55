"""Ledger fixtures: a database of the ledger's own per module (so verify sees only
what a test wrote), each test in a transaction that is rolled back, and an
in-memory signing key. Tampering tests drop the append-only triggers inside that
transaction (DDL is transactional on SQLite and PostgreSQL), so the rollback
restores them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from cogov.db.engine import make_engine
from cogov.db.migrate import upgrade
from cogov.ledger.keys import LedgerKey
from tests.conftest import BACKENDS, PG_URL, fresh_postgres_database

LEDGER_TABLES = ("ledger_entries", "ledger_checkpoints", "ledger_tree_nodes")


def drop_append_only_triggers(session: Session) -> None:
    """What an attacker with database access does first."""
    if session.get_bind().dialect.name == "sqlite":
        statements = [
            f"DROP TRIGGER {table}_no_{verb}"
            for table in LEDGER_TABLES
            for verb in ("update", "delete")
        ]
    else:
        statements = [f"DROP TRIGGER {table}_append_only ON {table}" for table in LEDGER_TABLES]
    for statement in statements:
        session.execute(text(statement))


def own_database(backend: str, directory: Path) -> Iterator[Engine]:
    """A migrated database for the ledger tests alone, dropped afterwards."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{directory / 'ledger.sqlite3'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set COGOV_TEST_DATABASE_URL to run on it")
    with fresh_postgres_database(PG_URL) as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def ledger_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from own_database(request.param, tmp_path_factory.mktemp("ledger"))


@pytest.fixture
def ledger_session(ledger_engine: Engine) -> Iterator[Session]:
    """A session on the ledger's own database, rolled back after the test (commits
    inside only release savepoints)."""
    connection = ledger_engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture(scope="session")
def ledger_key() -> LedgerKey:
    return LedgerKey(Ed25519PrivateKey.generate(), "test.example/ledger")

"""Two sessions filing the same new agent at once: one filing wins, the other gets a
clean conflict naming the field, and nothing of the loser is left behind (no filing,
no history step, no ledger entry). These tests commit, so each runs in a database of
its own, on SQLite and (where configured) PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from cogov.core.clock import FixedClock
from cogov.core.errors import Conflict
from cogov.core.types import Role
from cogov.db.engine import make_engine
from cogov.db.migrate import upgrade
from cogov.db.session import session_factory, unit_of_work
from cogov.identity import add_user
from cogov.ledger import LedgerEntry, verify
from cogov.registry import (
    ConcurrentFiling,
    FilingDocument,
    RegistryError,
    UnchangedFiling,
    file_agent,
    parse_filing,
)
from cogov.registry import repository as registry_repository
from cogov.registry.models import RegistryAgent, RegistryEvent, RegistryFiling
from tests.conftest import PG_URL, fresh_postgres_database

from .conftest import CLOCK_START, filing_data


def own_database(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database for this test alone, with the staff a filing names."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
        yield from _with_staff(engine)
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set COGOV_TEST_DATABASE_URL to run on it")
    with fresh_postgres_database(PG_URL) as url:
        yield from _with_staff(make_engine(url))


def _with_staff(engine: Engine) -> Iterator[Engine]:
    try:
        upgrade(engine)
        with unit_of_work(engine) as session:
            add_user(session, username="admin", roles=[Role.ADMINISTRATOR])
            for name in ("g.chen", "m.lopez"):
                add_user(session, username=name, roles=[Role.REVIEWER], by="admin")
        yield engine
    finally:
        engine.dispose()


def document() -> FilingDocument:
    return parse_filing(filing_data())


def counts(engine: Engine, agent_id: str) -> tuple[int, int, int, int]:
    """(agents, filings, history steps, filing.filed ledger entries) for the agent."""
    with Session(engine) as session:
        return (
            session.scalar(select(func.count()).where(RegistryAgent.agent_id == agent_id)) or 0,
            session.scalar(select(func.count()).where(RegistryFiling.agent_id == agent_id)) or 0,
            session.scalar(select(func.count()).where(RegistryEvent.agent_id == agent_id)) or 0,
            session.scalar(select(func.count()).where(LedgerEntry.kind == "filing.filed")) or 0,
        )


def ledger_verifies(engine: Engine) -> bool:
    with Session(engine) as session:
        return verify(session, public_key=None).ok


def file_in_thread(engine: Engine, outcome: list[BaseException | str]) -> threading.Thread:
    """A second session files the same agent; it records what happened, and commits
    whatever its transaction still holds (a caller that carries on after the error)."""

    def run() -> None:
        session = session_factory(engine)()
        try:
            try:
                filed = file_agent(session, document=document(), by="admin",
                                   clock=FixedClock(CLOCK_START))  # fmt: skip
                outcome.append(f"filed version {filed.version}")
            except RegistryError as exc:
                outcome.append(exc)
            session.commit()
        except BaseException as exc:  # anything else is a failure of the test
            outcome.append(exc)
            session.rollback()
        finally:
            session.close()

    return threading.Thread(target=run)


def wait_until_blocked(engine: Engine, seconds: float = 30.0) -> None:
    """Until another connection to this PostgreSQL database waits on a lock."""
    deadline = time.monotonic() + seconds
    with engine.connect() as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            if waiting:
                return
            watcher.rollback()
            time.sleep(0.01)
    raise AssertionError("the second filing never waited for the first")


class TestTwoFirstFilingsAtOnce:
    @pytest.mark.postgres
    def test_postgresql_the_later_insert_gets_a_conflict_not_an_integrity_error(
        self, tmp_path: Path
    ) -> None:
        for engine in own_database("postgresql", tmp_path):
            agent_id = document().agent_id
            first = session_factory(engine)()
            outcome: list[BaseException | str] = []
            try:
                # The first session has filed (agent, filing, history step, ledger
                # entry) and not committed; the second saw no agent and inserts one,
                # which waits on the first's uncommitted row.
                assert file_agent(first, document=document(), by="admin").version == 1
                second = file_in_thread(engine, outcome)
                second.start()
                wait_until_blocked(engine)
                first.commit()
                second.join(timeout=60)
            finally:
                first.close()
            assert len(outcome) == 1
            error = outcome[0]
            assert isinstance(error, ConcurrentFiling), error
            assert isinstance(error, Conflict)
            assert error.field == "agent_id"
            assert error.message.startswith(f"agent_id: agent {agent_id!r} was filed by another")
            assert counts(engine, agent_id) == (1, 1, 1, 1)
            assert ledger_verifies(engine)

    @pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
    def test_one_filing_wins_and_the_other_is_a_conflict(
        self, backend: str, tmp_path: Path
    ) -> None:
        # Both sessions start together; whichever order the database lets them in,
        # exactly one version 1 exists and the other session gets a Conflict
        # (ConcurrentFiling if it raced the insert, UnchangedFiling if it came after).
        for engine in own_database(backend, tmp_path):
            outcome: list[BaseException | str] = []
            threads = [file_in_thread(engine, outcome) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert len(outcome) == 2
            assert "filed version 1" in outcome, outcome
            (error,) = [o for o in outcome if not isinstance(o, str)]
            assert isinstance(error, ConcurrentFiling | UnchangedFiling), error
            assert counts(engine, document().agent_id) == (1, 1, 1, 1)
            assert ledger_verifies(engine)


class TestAddNewAgent:
    def test_an_agent_already_there_writes_nothing_and_keeps_the_transaction(
        self, db_session: Session, staff: dict[str, str]
    ) -> None:
        now = CLOCK_START
        assert registry_repository.add_new_agent(
            db_session, RegistryAgent(agent_id="twin", created_at=now, paused=False)
        )
        db_session.expunge_all()
        again = RegistryAgent(agent_id="twin", created_at=now, paused=True)
        assert not registry_repository.add_new_agent(db_session, again)
        # The transaction is still usable and still holds the first row, unchanged.
        rows = db_session.scalars(select(RegistryAgent).where(RegistryAgent.agent_id == "twin"))
        assert [row.paused for row in rows] == [False]
        assert file_agent(db_session, document=document(), by=staff["admin"]).version == 1

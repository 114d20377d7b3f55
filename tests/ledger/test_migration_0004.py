"""Migration 0004 (ADR 0004) drops the unique index on ``entry_hash``: a ledger written
before it keeps every entry and still verifies, the database still refuses UPDATE and
DELETE (SQLite rebuilds the table, so its triggers are made again) and a fork (a
second entry on the same predecessor); a forged duplicate hash, which the index used
to refuse, is caught by ``verify``; the downgrade puts the index back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from cogov.db.engine import make_engine
from cogov.db.migrate import alembic_config, upgrade
from cogov.db.session import unit_of_work
from cogov.ledger.schemas import EntryDraft, Problem
from cogov.ledger.service import append_many
from cogov.ledger.verification import verify
from tests.conftest import BACKENDS, PG_URL, fresh_postgres_database

BEFORE = "0003_ledger_staging"
AFTER = "0004_ledger_entry_hash_plain"
ENTRIES = 40


@pytest.fixture(params=BACKENDS)
def ledger_before_0004(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database migrated up to 0003 only, holding ``ENTRIES`` chained entries."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
        engine = make_engine(url)
        yield from _with_entries(engine)
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set COGOV_TEST_DATABASE_URL to run on it")
    with fresh_postgres_database(PG_URL) as url:
        yield from _with_entries(make_engine(url))


def _with_entries(engine: Engine) -> Iterator[Engine]:
    upgrade(engine, BEFORE)
    drafts = [
        EntryDraft(kind="case.received", actor="system:intake", case_id=f"c{n}", payload={"n": n})
        for n in range(ENTRIES)
    ]
    with unit_of_work(engine) as session:
        append_many(session, drafts)
    try:
        yield engine
    finally:
        engine.dispose()


def _rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT seq, recorded_at, kind, case_id, actor, responsible, payload, "
                    "prev_hash, entry_hash FROM ledger_entries ORDER BY seq"
                )
            )
        ]


def _insert_copy(engine: Engine, *, seq: int, prev_hash: str, entry_hash: str) -> None:
    """A raw row copying entry 1's fields under another ``seq`` and hashes."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ledger_entries (seq, recorded_at, kind, case_id, actor, "
                "responsible, payload, prev_hash, entry_hash) SELECT :seq, recorded_at, kind, "
                "case_id, actor, responsible, payload, :prev, :entry FROM ledger_entries "
                "WHERE seq = 1"
            ),
            {"seq": seq, "prev": prev_hash, "entry": entry_hash},
        )


def _problems(engine: Engine) -> list[Problem]:
    with unit_of_work(engine) as session:
        return verify(session, public_key=None).problems


class TestMigration0004:
    def test_entries_survive_and_still_verify(self, ledger_before_0004: Engine) -> None:
        before = _rows(ledger_before_0004)
        assert len(before) == ENTRIES
        upgrade(ledger_before_0004, AFTER)
        assert _rows(ledger_before_0004) == before
        assert _problems(ledger_before_0004) == []

    @pytest.mark.parametrize(
        "statement",
        ["UPDATE ledger_entries SET kind = 'x.y'", "DELETE FROM ledger_entries"],
    )
    def test_the_ledger_stays_append_only(self, ledger_before_0004: Engine, statement: str) -> None:
        upgrade(ledger_before_0004, AFTER)
        with (
            pytest.raises(DatabaseError, match="append-only"),
            ledger_before_0004.begin() as connection,
        ):
            connection.execute(text(statement))
        assert len(_rows(ledger_before_0004)) == ENTRIES

    def test_a_fork_is_still_refused(self, ledger_before_0004: Engine) -> None:
        upgrade(ledger_before_0004, AFTER)
        first = _rows(ledger_before_0004)[0]
        # A second entry on entry 1's predecessor: the unique prev_hash refuses it.
        with pytest.raises(IntegrityError):
            _insert_copy(
                ledger_before_0004, seq=ENTRIES + 1, prev_hash=first[7], entry_hash="f" * 64
            )

    def test_a_duplicate_hash_is_caught_by_verify_instead(self, ledger_before_0004: Engine) -> None:
        upgrade(ledger_before_0004, AFTER)
        rows = _rows(ledger_before_0004)
        # Chained on the real head, but claiming entry 1's hash: the schema takes it;
        # verify recomputes every hash from the fields and seq, and names the entry.
        _insert_copy(
            ledger_before_0004, seq=ENTRIES + 1, prev_hash=rows[-1][8], entry_hash=rows[0][8]
        )
        problems = _problems(ledger_before_0004)
        assert problems, "verify must refuse an entry whose hash is not its own"
        assert problems[0].seq == ENTRIES + 1

    def test_the_downgrade_restores_the_unique_index(self, ledger_before_0004: Engine) -> None:
        upgrade(ledger_before_0004, AFTER)
        command.downgrade(alembic_config(ledger_before_0004), BEFORE)
        rows = _rows(ledger_before_0004)
        assert len(rows) == ENTRIES
        with pytest.raises(IntegrityError):
            _insert_copy(
                ledger_before_0004, seq=ENTRIES + 1, prev_hash=rows[-1][8], entry_hash=rows[0][8]
            )
        with (
            pytest.raises(DatabaseError, match="append-only"),
            ledger_before_0004.begin() as connection,
        ):
            connection.execute(text("DELETE FROM ledger_entries"))
        assert _problems(ledger_before_0004) == []

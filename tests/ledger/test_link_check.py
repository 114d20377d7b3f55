"""Migration 0004 (ADR 0004) replaces the unique indexes on ``prev_hash`` and
``entry_hash`` with an insert trigger that checks each entry's link. A ledger written
before it keeps every entry and still verifies; the database still refuses UPDATE and
DELETE (SQLite rebuilds the table, so its triggers are made again); it refuses a fork,
as the unique ``prev_hash`` did, and also a wrong or missing predecessor, which that
did not; a forged duplicate hash, which the ``entry_hash`` index refused, is named by
``verify``; appends keep working; the downgrade restores the indexes."""

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
from cogov.ledger.rules import GENESIS_HASH
from cogov.ledger.schemas import EntryDraft, Problem
from cogov.ledger.service import append, append_many
from cogov.ledger.verification import verify
from tests.conftest import BACKENDS, PG_URL, fresh_migrated_database, fresh_postgres_database

BEFORE = "0003_ledger_staging"
AFTER = "0004_ledger_link_check"
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


class TestLinkCheck:
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
        # A second entry on entry 1's predecessor (what the unique prev_hash refused).
        with pytest.raises(IntegrityError, match="prev_hash"):
            _insert_copy(
                ledger_before_0004, seq=ENTRIES + 1, prev_hash=first[7], entry_hash="f" * 64
            )

    @pytest.mark.parametrize("how", ["unknown predecessor", "gap", "second genesis"])
    def test_a_wrong_link_is_refused(self, ledger_before_0004: Engine, how: str) -> None:
        # What no unique index could see: a predecessor hash that is nobody's, or the
        # right one but with entries missing between.
        upgrade(ledger_before_0004, AFTER)
        head = _rows(ledger_before_0004)[-1]
        seq, prev = {
            "unknown predecessor": (ENTRIES + 1, "e" * 64),
            "gap": (ENTRIES + 2, head[8]),
            "second genesis": (ENTRIES + 1, "0" * 64),
        }[how]
        with pytest.raises(IntegrityError, match="prev_hash"):
            _insert_copy(ledger_before_0004, seq=seq, prev_hash=prev, entry_hash="f" * 64)
        assert len(_rows(ledger_before_0004)) == ENTRIES

    def test_appends_go_on_after_it(self, ledger_before_0004: Engine) -> None:
        upgrade(ledger_before_0004, AFTER)
        more = [EntryDraft(kind="case.closed", actor="system:t", case_id=f"c{n}") for n in range(5)]
        with unit_of_work(ledger_before_0004) as session:
            append_many(session, more)
        with unit_of_work(ledger_before_0004) as session:
            append(session, kind="case.closed", actor="system:t", case_id="last")
        assert len(_rows(ledger_before_0004)) == ENTRIES + 6
        assert _problems(ledger_before_0004) == []

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

    def test_the_downgrade_restores_the_unique_indexes(self, ledger_before_0004: Engine) -> None:
        upgrade(ledger_before_0004, AFTER)
        command.downgrade(alembic_config(ledger_before_0004), BEFORE)
        rows = _rows(ledger_before_0004)
        assert len(rows) == ENTRIES
        with pytest.raises(IntegrityError, match="prev_hash"):
            _insert_copy(
                ledger_before_0004, seq=ENTRIES + 1, prev_hash=rows[0][7], entry_hash="f" * 64
            )
        with pytest.raises(IntegrityError, match="entry_hash"):
            _insert_copy(
                ledger_before_0004, seq=ENTRIES + 1, prev_hash=rows[-1][8], entry_hash=rows[0][8]
            )
        with (
            pytest.raises(DatabaseError, match="append-only"),
            ledger_before_0004.begin() as connection,
        ):
            connection.execute(text("DELETE FROM ledger_entries"))
        assert _problems(ledger_before_0004) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_first_entry_must_stand_on_the_genesis_hash(backend: str, tmp_path: Path) -> None:
    with fresh_migrated_database(backend, tmp_path) as (_, engine):
        row = {
            "recorded_at": "2026-11-27T00:00:00.000000Z",
            "kind": "case.received",
            "actor": "system:t",
            "responsible": "{}",
            "payload": "{}",
            "entry": "f" * 64,
        }
        insert = text(
            "INSERT INTO ledger_entries (seq, recorded_at, kind, actor, responsible, payload, "
            "prev_hash, entry_hash) VALUES (1, :recorded_at, :kind, :actor, :responsible, "
            ":payload, :prev, :entry)"
        )
        with pytest.raises(IntegrityError, match="prev_hash"), engine.begin() as connection:
            connection.execute(insert, {**row, "prev": "e" * 64})
        with engine.begin() as connection:
            connection.execute(insert, {**row, "prev": GENESIS_HASH})
        assert len(_rows(engine)) == 1

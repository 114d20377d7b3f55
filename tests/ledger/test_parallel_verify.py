"""verify(workers=2): the second half is checked in a forked process over its own
connection; the report must be the same as the single-process one, problems
included. These tests commit (the helper only sees committed rows), so each runs
in a database of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from cogov.db.session import unit_of_work
from cogov.ledger import EntryDraft, append_many, make_checkpoint, verification, verify
from cogov.ledger.keys import LedgerKey
from tests.ledger.conftest import drop_append_only_triggers, own_database

ENTRIES = 500  # the helper takes 201..500


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    ledger_key: LedgerKey,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Engine]:
    monkeypatch.setattr(verification, "_MIN_PARALLEL", 10)
    for engine in own_database(request.param, tmp_path):
        for size in (120, 400, ENTRIES):
            with unit_of_work(engine) as session:
                count = size - (session.execute(text("SELECT count(*) FROM ledger_entries"))
                                .scalar_one())  # fmt: skip
                append_many(
                    session,
                    [EntryDraft(kind="load.step", actor="agent:a@1", case_id=f"c{n % 7}",
                                payload={"n": n}) for n in range(count)],
                )  # fmt: skip
                if size != ENTRIES:
                    make_checkpoint(session, key=ledger_key)
        yield engine


def tamper(engine: Engine, statement: str) -> None:
    with unit_of_work(engine) as session:
        drop_append_only_triggers(session)
        session.execute(text(statement))


def report_of(engine: Engine, key: LedgerKey, workers: int) -> tuple[str | None, int | None]:
    with Session(engine) as session:
        report = verify(session, public_key=key.public_key, workers=workers)
    return (report.problem.code, report.problem.seq) if report.problem else (None, None)


class TestTwoWorkersReportLikeOne:
    def test_intact(self, committed: Engine, ledger_key: LedgerKey) -> None:
        with Session(committed) as session:
            report = verify(session, public_key=ledger_key.public_key, workers=2)
        assert report.ok, report.problem
        assert report.entries == ENTRIES

    def test_entries_this_transaction_appended_are_checked_too(
        self, committed: Engine, ledger_key: LedgerKey
    ) -> None:
        with Session(committed) as session:
            append_many(session, [EntryDraft(kind="load.step", actor="agent:a@1")] * 30)
            report = verify(session, public_key=ledger_key.public_key, workers=2)
            session.rollback()
        assert report.ok, report.problem
        assert report.entries == ENTRIES + 30

    @pytest.mark.parametrize(
        ("statement", "expected"),
        [
            ("UPDATE ledger_entries SET payload = '{}' WHERE seq = 90", ("content_changed", 90)),
            ("UPDATE ledger_entries SET payload = '{}' WHERE seq = 333", ("content_changed", 333)),
            ("DELETE FROM ledger_entries WHERE seq = 201", ("missing", 201)),
            ("DELETE FROM ledger_entries WHERE seq = 200", ("missing", 200)),
            (f"UPDATE ledger_entries SET entry_hash = '{'e' * 64}' WHERE seq = 499",
             ("hash_changed", 499)),
            ("DELETE FROM ledger_entries WHERE seq > 300", ("truncated", 301)),
        ],
    )  # fmt: skip
    def test_tampering_is_named_the_same(
        self, committed: Engine, ledger_key: LedgerKey, statement: str, expected: tuple[str, int]
    ) -> None:
        backend = committed.dialect.name
        if backend == "postgresql" and expected[1] not in (200, 333):
            pytest.skip("covered on SQLite; PostgreSQL runs the two boundary-side cases")
        tamper(committed, statement)
        assert report_of(committed, ledger_key, 1) == expected
        assert report_of(committed, ledger_key, 2) == expected

"""Staged entries (``stage``): chained at commit on PostgreSQL by a trigger that must
hash exactly as the Python code does, in order with the transaction's other entries;
appended at once on SQLite. These tests commit, so each runs in a database of its own."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cogov.db.session import read_only, unit_of_work
from cogov.ledger import (
    EntryDraft,
    LedgerEntry,
    Responsible,
    append,
    chain_staged,
    entries_for_case,
    stage,
    verify,
)
from cogov.ledger.errors import PersonalDataInPayload
from cogov.ledger.models import LedgerStaged
from cogov.ledger.rules import GENESIS_HASH, entry_hash
from tests.conftest import BACKENDS
from tests.ledger.conftest import own_database

TRIGGER = "ledger_staged_integrate"


@pytest.fixture(scope="module", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from own_database(request.param, tmp_path_factory.mktemp("stage"))


def draft(
    kind: str = "case.received", case_id: str | None = "c-1", **payload: object
) -> EntryDraft:
    return EntryDraft(kind=kind, actor="system:intake", case_id=case_id, payload=payload)


def entries(engine: Engine) -> list[LedgerEntry]:
    with Session(engine) as session:
        return list(session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)))


def staged_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(LedgerStaged)) or 0


def python_hash(entry: LedgerEntry) -> str:
    return entry_hash(
        seq=entry.seq,
        recorded_at=entry.recorded_at,
        kind=entry.kind,
        case_id=entry.case_id,
        actor=entry.actor,
        responsible=entry.responsible,
        payload=entry.payload,
        prev_hash=entry.prev_hash,
    )


def test_a_staged_entry_is_chained_at_commit_and_the_ledger_verifies(engine: Engine) -> None:
    before = len(entries(engine))
    responsible = Responsible(developer="router@3#abc", guardian="user:7")
    with unit_of_work(engine) as session:
        stage(
            session,
            EntryDraft(
                kind="case.received",
                actor="system:intake",
                case_id="c-commit",
                payload={"service_code": "pothole", "note": '路面坑洼 "quoted" \\ é 🚧'},
                responsible=responsible,
            ),
        )
    stored = entries(engine)
    assert len(stored) == before + 1
    last = stored[-1]
    assert (last.kind, last.case_id, last.actor) == ("case.received", "c-commit", "system:intake")
    assert last.prev_hash == (stored[-2].entry_hash if before else GENESIS_HASH)
    assert last.entry_hash == python_hash(last)
    assert staged_rows(engine) == 0
    with Session(engine) as session:
        assert verify(session, public_key=None).ok


def test_entries_keep_the_transactions_order_around_a_staged_one(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        append(session, kind="case.before", actor="system:intake", case_id="c-order")
        stage(session, draft("case.received", "c-order"))
        append(session, kind="case.after", actor="system:intake", case_id="c-order")
        stage(session, draft("case.staged.last", "c-order"))
    with Session(engine) as session:
        kinds = [entry.kind for entry in entries_for_case(session, "c-order")]
    assert kinds == ["case.before", "case.received", "case.after", "case.staged.last"]
    with Session(engine) as session:
        assert verify(session, public_key=None).ok


def test_the_transaction_reads_back_what_it_staged(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        stage(session, draft("case.received", "c-read"))
        via_service = [entry.kind for entry in entries_for_case(session, "c-read")]
        via_orm = session.scalars(select(LedgerEntry.kind).where(LedgerEntry.case_id == "c-read"))
        assert via_service == ["case.received"]
        assert list(via_orm) == ["case.received"]
        chain_staged(session)  # nothing left to chain: a no-op
    assert [e.kind for e in entries(engine) if e.case_id == "c-read"] == ["case.received"]


def test_a_rolled_back_transaction_leaves_nothing(engine: Engine) -> None:
    before = len(entries(engine))
    with Session(engine) as session:
        stage(session, draft("case.received", "c-rollback"))
        session.rollback()
    assert len(entries(engine)) == before
    assert staged_rows(engine) == 0


def test_a_released_savepoint_keeps_its_staged_entry_and_a_rolled_back_one_drops_it(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as session:
        with session.begin_nested():
            stage(session, draft("case.received", "c-kept"))
        savepoint = session.begin_nested()
        stage(session, draft("case.received", "c-dropped"))
        savepoint.rollback()
        append(session, kind="case.after", actor="system:intake", case_id="c-kept")
    kept = [e.kind for e in entries(engine) if e.case_id in ("c-kept", "c-dropped")]
    assert kept == ["case.received", "case.after"]
    with Session(engine) as session:
        assert verify(session, public_key=None).ok


def test_a_bad_entry_is_refused_before_anything_is_stored(engine: Engine) -> None:
    before = len(entries(engine))
    with Session(engine) as session:
        with pytest.raises(PersonalDataInPayload):
            stage(session, draft("case.received", "c-bad", contact={"email": "a@b.example"}))
        assert session.scalar(select(func.count()).select_from(LedgerStaged)) == 0
        session.commit()
    assert len(entries(engine)) == before


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    note=st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=60),
    number=st.integers(-(10**12), 10**12),
    case_id=st.none() | st.from_regex(r"[A-Za-z0-9_.:-]{1,20}", fullmatch=True),
)
def test_the_trigger_hashes_exactly_as_python_for_any_payload(
    engine: Engine, note: str, number: int, case_id: str | None
) -> None:
    """The database computes the entry bytes on PostgreSQL; Python recomputes them."""
    with unit_of_work(engine) as session:
        stage(session, draft("payload.random", case_id, note=note, number=number))
    last = entries(engine)[-1]
    assert last.kind == "payload.random"
    assert last.entry_hash == python_hash(last)


def test_verify_reports_a_staged_entry_committed_without_being_chained(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite appends at once: it never stages")
    with Session(engine) as session:
        session.execute(text(f"ALTER TABLE ledger_staged DISABLE TRIGGER {TRIGGER}"))
        stage(session, draft("case.received", "c-unchained"))
        session.commit()
    try:
        with Session(engine) as session:
            report = verify(session, public_key=None)
        assert not report.ok
        assert report.problems[0].code == "unchained"
        assert "1 staged entries" in report.problems[0].message
    finally:
        with Session(engine) as session:
            session.execute(text("DELETE FROM ledger_staged"))
            session.execute(
                text("ALTER TABLE ledger_staged ENABLE TRIGGER ledger_staged_integrate")
            )
            session.commit()
    with Session(engine) as session:
        assert verify(session, public_key=None).ok


def _advisory_locks_held(session: Session) -> int:
    """Advisory locks (the ledger writer's lock is one) held by this session's backend."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    return session.scalar(text(held)) or 0


def test_a_read_only_session_chains_nothing_and_takes_no_ledger_lock(engine: Engine) -> None:
    # Another transaction has staged an entry and not yet committed (PostgreSQL; on
    # SQLite it has appended it and holds the write lock). A read-only reader's ledger
    # reads (ORM queries on the entries, the read functions, verify) must not chain
    # anything nor take the writers' lock: the writer commits, chaining under that
    # lock, while the reader is still open.
    with unit_of_work(engine) as writer:
        stage(writer, draft("case.received", "c-read-only", note="staged"))
        with read_only(engine) as reader:
            reader.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()
            assert entries_for_case(reader, "c-read-only") == []  # not committed yet
            assert verify(reader, public_key=None).ok  # another's staged row: not "unchained"
            assert _advisory_locks_held(reader) == 0
            assert reader.scalar(select(func.count()).select_from(LedgerStaged)) == 0
    with read_only(engine) as reader:
        assert [e.kind for e in entries_for_case(reader, "c-read-only")] == ["case.received"]
        assert verify(reader, public_key=None).ok
    assert staged_rows(engine) == 0


def test_a_read_only_session_cannot_stage(engine: Engine) -> None:
    before = len(entries(engine))
    # SQLite appends with the driver's cursor, so its error is sqlite3's own.
    refused = (DBAPIError, sqlite3.OperationalError)
    with read_only(engine) as reader, pytest.raises(refused, match=r"(?i)read.?only"):
        stage(reader, draft("case.received", "c-staged-read-only"))
    assert len(entries(engine)) == before
    assert staged_rows(engine) == 0

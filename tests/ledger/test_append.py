from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from cogov.core.clock import FixedClock
from cogov.ledger import LedgerEntry, Responsible, append
from cogov.ledger.errors import InvalidEntry, PersonalDataInPayload
from cogov.ledger.rules import GENESIS_HASH, entry_hash


class TestAppend:
    def test_chains_entries_from_genesis(self, db_session: Session) -> None:
        clock = FixedClock(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
        first = append(
            db_session,
            kind="case.received",
            actor="system:intake",
            case_id="c1",
            payload={"service_code": "noise"},
            clock=clock,
        )
        second = append(
            db_session,
            kind="proposal.made",
            actor="agent:router@3",
            case_id="c1",
            payload={"action": "route", "confidence": 0.91},
            responsible=Responsible(developer="router@3#abc", guardian="user:7"),
            clock=clock,
        )
        assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
        assert (second.seq, second.prev_hash) == (2, first.entry_hash)
        assert first.recorded_at == "2026-01-02T03:04:05.000000Z"
        assert second.responsible == '{"developer":"router@3#abc","guardian":"user:7"}'

    def test_hash_is_recomputable_from_stored_columns(self, db_session: Session) -> None:
        append(db_session, kind="case.received", actor="system:intake", payload={"文": "中文"})
        stored = db_session.scalars(select(LedgerEntry)).one()
        fields = {
            c: getattr(stored, c)
            for c in (
                "seq",
                "recorded_at",
                "kind",
                "case_id",
                "actor",
                "responsible",
                "payload",
                "prev_hash",
            )
        }
        assert entry_hash(**fields) == stored.entry_hash

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"kind": "Case Received", "actor": "system:x"}, "kind"),
            ({"kind": "case.received", "actor": "bob"}, "actor"),
        ],
    )
    def test_refuses_malformed_entries(
        self, db_session: Session, kwargs: dict[str, str], field: str
    ) -> None:
        with pytest.raises(InvalidEntry) as caught:
            append(db_session, **kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field

    def test_refuses_personal_data_at_any_depth(self, db_session: Session) -> None:
        with pytest.raises(PersonalDataInPayload, match=r"payload\.request\.email"):
            append(
                db_session,
                kind="case.received",
                actor="system:intake",
                payload={"request": {"email": "a@b.c"}},
            )
        assert db_session.scalars(select(LedgerEntry)).all() == []

    def test_refuses_non_finite_numbers(self, db_session: Session) -> None:
        with pytest.raises(InvalidEntry, match="payload"):
            append(db_session, kind="x.y", actor="system:t", payload={"v": float("nan")})


class TestDatabaseRefusesChanges:
    @pytest.mark.parametrize(
        "statement",
        ["UPDATE ledger_entries SET kind = 'x.y'", "DELETE FROM ledger_entries"],
    )
    def test_update_and_delete_are_refused(self, db_session: Session, statement: str) -> None:
        append(db_session, kind="case.received", actor="system:intake")
        with pytest.raises(DatabaseError, match="append-only"):
            db_session.execute(text(statement))


class TestSavepoints:
    def test_an_entry_rolled_back_with_its_savepoint_leaves_no_gap(
        self, db_session: Session
    ) -> None:
        append(db_session, kind="case.received", actor="system:intake")
        savepoint = db_session.begin_nested()
        append(db_session, kind="case.received", actor="system:intake")
        savepoint.rollback()
        after = append(db_session, kind="case.received", actor="system:intake")
        first = db_session.scalars(select(LedgerEntry).where(LedgerEntry.seq == 1)).one()
        assert (after.seq, after.prev_hash) == (2, first.entry_hash)

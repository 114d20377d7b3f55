"""Reading the ledger page by page and entry by entry (ledger.service.entries_before,
entry_at), as an explorer does."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cogov.ledger import append
from cogov.ledger.service import entries_before, entry_at


def _fill(session: Session, count: int) -> None:
    for number in range(count):
        append(session, kind="test.event", actor="system:test", payload={"n": number})


class TestEntriesBefore:
    def test_a_page_ends_at_the_entry_asked_newest_first(self, db_session: Session) -> None:
        _fill(db_session, 7)
        page = entries_before(db_session, last=6, count=3)
        assert [entry.seq for entry in page] == [6, 5, 4]
        assert page[0].payload == {"n": 5}
        assert [entry.seq for entry in entries_before(db_session, last=2, count=5)] == [2, 1]
        assert entries_before(db_session, last=0, count=5) == []
        assert entries_before(db_session, last=5, count=0) == []


class TestEntryAt:
    def test_one_entry_or_none(self, db_session: Session) -> None:
        _fill(db_session, 2)
        entry = entry_at(db_session, seq=2)
        assert entry is not None
        assert (entry.seq, entry.kind, entry.payload) == (2, "test.event", {"n": 1})
        assert entry_at(db_session, seq=3) is None

"""Every query on ledger tables. Nothing else touches them."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cogov.ledger.models import LedgerEntry

# Any 64-bit constant; it names "the ledger writer" among PostgreSQL advisory locks.
LEDGER_ADVISORY_LOCK = 0x636F676F76  # "cogov"


def lock_for_append(session: Session) -> None:
    """Serialise ledger writers until the transaction ends.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: transactions already
    begin IMMEDIATE (one writer at a time), see cogov.db.engine.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_ADVISORY_LOCK})


def tail(session: Session) -> tuple[int, str] | None:
    row = session.execute(
        select(LedgerEntry.seq, LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def add(session: Session, entry: LedgerEntry) -> None:
    session.add(entry)

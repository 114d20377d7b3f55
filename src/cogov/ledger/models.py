from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cogov.db.base import Base

# BigInteger on PostgreSQL, but INTEGER on SQLite so the column is the rowid alias.
SequenceNumber = BigInteger().with_variant(Integer(), "sqlite")


class LedgerEntry(Base):
    """One append-only entry. ``payload`` and ``responsible`` are stored as their
    canonical JSON text, so the stored bytes are exactly the hashed bytes."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=False)
    recorded_at: Mapped[str] = mapped_column(String(27), nullable=False)
    kind: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    responsible: Mapped[str] = mapped_column(Text, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)

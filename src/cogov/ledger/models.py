from __future__ import annotations

from sqlalchemy import BigInteger, Identity, Integer, LargeBinary, SmallInteger, String, Text
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
    # Neither hash is unique-indexed: an insert trigger checks that prev_hash is the
    # entry_hash of entry seq - 1, and entry_hash hashes seq (ADR 0004, migration 0004).
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    entry_hash: Mapped[str] = mapped_column(String(64), nullable=False)


class LedgerStaged(Base):
    """An entry staged in an open transaction, chained into ``ledger_entries`` by a
    deferred trigger when it commits (PostgreSQL; see migration 0003). A committed
    database holds no row here: the trigger deletes each one it chains."""

    __tablename__ = "ledger_staged"

    id: Mapped[int] = mapped_column(SequenceNumber, Identity(always=False), primary_key=True)
    recorded_at: Mapped[str] = mapped_column(String(27), nullable=False)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    case_id: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    responsible: Mapped[str] = mapped_column(Text, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)


class LedgerCheckpoint(Base):
    """A signed checkpoint (C2SP signed note) over the first ``tree_size`` entries.
    Append-only like the entries: ``number`` counts from 1 and sizes only grow."""

    __tablename__ = "ledger_checkpoints"

    number: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    root_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    recorded_at: Mapped[str] = mapped_column(String(27), nullable=False)
    origin: Mapped[str] = mapped_column(String(255), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(8), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)


class LedgerTreeNode(Base):
    """The hash of one perfect Merkle subtree of level >= 1 (``2**level`` entries from
    ``node_index * 2**level``); level 0 is the entries' own hashes. Written when a checkpoint
    integrates new entries, so any proof needs only O(log n) lookups. A cache of
    values recomputable from the entries, checked against signed roots before use."""

    __tablename__ = "ledger_tree_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)

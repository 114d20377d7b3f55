"""Every query on ledger tables. Nothing else touches them."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import insert, select, text, tuple_
from sqlalchemy.orm import Session

from cogov.ledger.merkle import NodeId
from cogov.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerTreeNode

# Any 64-bit constant; it names "the ledger writer" among PostgreSQL advisory locks.
LEDGER_ADVISORY_LOCK = 0x636F676F76  # "cogov"

ENTRY_COLUMNS = (
    "seq",
    "recorded_at",
    "kind",
    "case_id",
    "actor",
    "responsible",
    "payload",
    "prev_hash",
    "entry_hash",
)


_STREAM_BATCH = 20_000
_cursor_numbers = itertools.count(1)


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


def insert_entries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many entries with one executemany (no ORM objects)."""
    if rows:
        session.execute(insert(LedgerEntry), rows)


def stream(session: Session, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
    """Yield rows of a read-only query through the raw DBAPI cursor of the session's
    connection (same transaction), without per-row SQLAlchemy objects.

    ``sql`` uses ``?`` placeholders; on PostgreSQL a server-side cursor streams the
    rows so memory stays flat however long the ledger is.
    """
    connection = session.connection()
    raw: Any = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        cursor = raw.cursor(name=f"cogov_ledger_stream_{next(_cursor_numbers)}")
        cursor.itersize = _STREAM_BATCH
        cursor.execute(sql.replace("?", "%s"), tuple(params))
    else:
        cursor = raw.cursor()
        cursor.execute(sql, tuple(params))
    try:
        yield from cursor
    finally:
        cursor.close()


def stream_entries(session: Session, *, after_seq: int = 0) -> Iterator[tuple[Any, ...]]:
    """Every stored entry with seq > ``after_seq`` as a tuple in ENTRY_COLUMNS order."""
    return stream(
        session,
        f"SELECT {', '.join(ENTRY_COLUMNS)} FROM ledger_entries WHERE seq > ? ORDER BY seq",
        (after_seq,),
    )


def stream_links(session: Session, first_seq: int, last_seq: int) -> Iterator[tuple[Any, ...]]:
    """``(seq, prev_hash, entry_hash)`` for first_seq..last_seq in order."""
    return stream(
        session,
        "SELECT seq, prev_hash, entry_hash FROM ledger_entries "
        "WHERE seq >= ? AND seq <= ? ORDER BY seq",
        (first_seq, last_seq),
    )


def entries_around(session: Session, seq: int, before: int, after: int) -> list[LedgerEntry]:
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.seq >= seq - before, LedgerEntry.seq <= seq + after)
            .order_by(LedgerEntry.seq)
        )
    )


def entry(session: Session, seq: int) -> LedgerEntry | None:
    return session.get(LedgerEntry, seq)


def entries_for_case(session: Session, case_id: str) -> list[LedgerEntry]:
    return list(
        session.scalars(
            select(LedgerEntry).where(LedgerEntry.case_id == case_id).order_by(LedgerEntry.seq)
        )
    )


def leaf_hashes(session: Session, indexes: Iterable[int]) -> dict[int, bytes]:
    """Entry hashes (Merkle leaves) by leaf index (``seq - 1``)."""
    wanted = sorted(set(indexes))
    found: dict[int, bytes] = {}
    if not wanted:
        return found
    if len(wanted) > 64:  # a contiguous run: one range scan beats a long IN list
        query = select(LedgerEntry.seq, LedgerEntry.entry_hash).where(
            LedgerEntry.seq >= wanted[0] + 1, LedgerEntry.seq <= wanted[-1] + 1
        )
    else:
        query = select(LedgerEntry.seq, LedgerEntry.entry_hash).where(
            LedgerEntry.seq.in_([index + 1 for index in wanted])
        )
    wanted_set = set(wanted)
    for seq, entry_hash in session.execute(query):
        if seq - 1 in wanted_set:
            found[seq - 1] = bytes.fromhex(entry_hash)
    return found


def tree_nodes(session: Session, nodes: Iterable[NodeId]) -> dict[NodeId, bytes]:
    wanted = list(set(nodes))
    found: dict[NodeId, bytes] = {}
    for start in range(0, len(wanted), 200):
        chunk = wanted[start : start + 200]
        key = tuple_(LedgerTreeNode.level, LedgerTreeNode.node_index)
        query = select(
            LedgerTreeNode.level, LedgerTreeNode.node_index, LedgerTreeNode.digest
        ).where(key.in_(chunk))
        for level, index, digest in session.execute(query):
            found[(level, index)] = bytes(digest)
    return found


def insert_tree_nodes(session: Session, nodes: Sequence[tuple[int, int, bytes]]) -> None:
    for start in range(0, len(nodes), _STREAM_BATCH):
        session.execute(
            insert(LedgerTreeNode),
            [
                {"level": level, "node_index": index, "digest": digest}
                for level, index, digest in nodes[start : start + _STREAM_BATCH]
            ],
        )


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    return session.scalars(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.number.desc()).limit(1)
    ).first()


def checkpoint_of_size(session: Session, size: int) -> LedgerCheckpoint | None:
    return session.scalars(
        select(LedgerCheckpoint).where(LedgerCheckpoint.tree_size == size)
    ).first()


def checkpoints(session: Session) -> list[LedgerCheckpoint]:
    return list(session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.number)))


def add_checkpoint(session: Session, checkpoint: LedgerCheckpoint) -> None:
    session.add(checkpoint)
    session.flush()

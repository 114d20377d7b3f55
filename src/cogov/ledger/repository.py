"""Every query on ledger tables. Nothing else touches them."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, event, func, select, text
from sqlalchemy.orm import Session

from cogov.db.batches import in_batches
from cogov.ledger.merkle import NodeId
from cogov.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerStaged

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


# Statements in one simple-protocol query: PostgreSQL gives each its own snapshot under
# READ COMMITTED, so the tail is read after the lock is granted (one statement would read
# it from a snapshot taken before the wait, and miss the writer it waited for).
_LOCK_THEN_TAIL = (
    f"SELECT pg_advisory_xact_lock({LEDGER_ADVISORY_LOCK}); "
    "SELECT seq, entry_hash FROM ledger_entries ORDER BY seq DESC LIMIT 1"
)
# Firing the deferred trigger now chains this transaction's staged entries first, so
# they keep their place before the entries appended after them.
_CHAIN_STAGED = (
    "SET CONSTRAINTS ledger_staged_integrate IMMEDIATE; "
    "SET CONSTRAINTS ledger_staged_integrate DEFERRED; "
)


def locked_tail(session: Session, *, chain_staged: bool = False) -> tuple[int, str] | None:
    """:func:`lock_for_append`, then :func:`tail`; with ``chain_staged``, first chain
    the entries this transaction staged (PostgreSQL).

    On PostgreSQL it all goes to the server in one round trip. The lock is held until
    commit, and on a busy machine each round trip under it costs a wake-up of the
    waiting client thread: that, not the statements, is most of how long a writer
    holds the lock, and so what bounds concurrent intake.
    """
    if session.get_bind().dialect.name != "postgresql":
        lock_for_append(session)
        return tail(session)
    row = _in_one_round_trip(session, (_CHAIN_STAGED if chain_staged else "") + _LOCK_THEN_TAIL)
    return (int(row[0]), str(row[1])) if row else None


def chain_staged(session: Session) -> None:
    """Chain this transaction's staged entries into ``ledger_entries`` now (PostgreSQL),
    instead of at commit, so the transaction can read them back."""
    _in_one_round_trip(session, _CHAIN_STAGED)


def _in_one_round_trip(session: Session, statements: str) -> Any:
    """Run parameterless ``statements`` (PostgreSQL, simple protocol) in the session's
    transaction, in one round trip; return the first row of the last one's result."""
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(statements)
        while cursor.nextset():  # to the last result
            pass
        return cursor.fetchone() if cursor.description else None
    finally:
        cursor.close()


_STAGED_COLUMNS = ("recorded_at", "kind", "case_id", "actor", "responsible", "payload")
_INSERT_STAGED = (
    f"INSERT INTO ledger_staged ({', '.join(_STAGED_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(_STAGED_COLUMNS))})"
)


def insert_staged(session: Session, row: Sequence[Any]) -> None:
    """Stage one entry (a tuple in _STAGED_COLUMNS order) to be chained at commit."""
    session.connection().exec_driver_sql(_INSERT_STAGED, tuple(row))


# Kept in the connection's info while its transaction holds staged entries not yet
# chained: on the connection, not the session, because a session joined to an outer
# transaction (create_savepoint) "commits" without the connection's transaction ending.
_STAGED_KEY = "cogov.ledger.staged"


def mark_staged(session: Session) -> None:
    session.connection().info[_STAGED_KEY] = True


def take_staged(session: Session) -> bool:
    """Whether this transaction staged entries not yet chained; forgets it (the caller
    chains them)."""
    return bool(session.connection().info.pop(_STAGED_KEY, False))


def has_own_staged(session: Session) -> bool:
    return bool(session.connection().info.get(_STAGED_KEY))


def _forget_staged(connection: Connection) -> None:
    # The transaction ended: committed staged entries are chained, rolled back ones gone.
    connection.info.pop(_STAGED_KEY, None)


event.listen(Engine, "commit", _forget_staged)
event.listen(Engine, "rollback", _forget_staged)


def staged_count(session: Session) -> int:
    """Staged entries visible to this transaction: its own not yet chained, and any a
    committed transaction left behind (which the trigger should never allow)."""
    return session.execute(select(func.count()).select_from(LedgerStaged)).scalar_one()


def tail(session: Session) -> tuple[int, str] | None:
    row = session.execute(
        select(LedgerEntry.seq, LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def last_seq(session: Session) -> int:
    """The highest sequence number (0 for an empty ledger). Reads no text column, so a
    tampered row with undecodable text cannot stop verify before it names the row."""
    return session.execute(select(func.max(LedgerEntry.seq))).scalar_one() or 0


def execute_many(session: Session, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """One DBAPI executemany in the session's transaction (``?`` placeholders): bulk
    inserts without building a SQLAlchemy parameter dict per row."""
    if not rows:
        return
    connection = session.connection()
    cursor: Any = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    if connection.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    try:
        for start in range(0, len(rows), _STREAM_BATCH):
            cursor.executemany(sql, rows[start : start + _STREAM_BATCH])
    finally:
        cursor.close()


def insert_entries(session: Session, rows: Sequence[Sequence[Any]]) -> None:
    """Insert many entries, each a tuple in ENTRY_COLUMNS order."""
    execute_many(
        session,
        f"INSERT INTO ledger_entries ({', '.join(ENTRY_COLUMNS)}) "
        f"VALUES ({_marks(len(ENTRY_COLUMNS))})",
        rows,
    )


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


def fetch(session: Session, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """All rows of a small read-only query through the raw DBAPI cursor (``?``
    placeholders). Proof generation runs a handful of these, and SQLAlchemy's
    statement building would cost more than the lookups themselves."""
    connection = session.connection()
    cursor: Any = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    if connection.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _marks(count: int) -> str:
    return ",".join("?" * count)


def stream_entries(
    session: Session, *, after_seq: int = 0, last_seq: int = 2**63 - 1
) -> Iterator[tuple[Any, ...]]:
    """The stored entries after ``after_seq`` up to ``last_seq``, oldest first, as
    tuples in ENTRY_COLUMNS order."""
    return stream(
        session,
        f"SELECT {', '.join(ENTRY_COLUMNS)} FROM ledger_entries "
        "WHERE seq > ? AND seq <= ? ORDER BY seq",
        (after_seq, last_seq),
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


def entry_row(session: Session, seq: int) -> tuple[Any, ...] | None:
    """The hashed columns of entry ``seq`` (ENTRY_COLUMNS without entry_hash)."""
    rows = fetch(
        session, f"SELECT {', '.join(ENTRY_COLUMNS[:-1])} FROM ledger_entries WHERE seq = ?", (seq,)
    )
    return rows[0] if rows else None


def entries_for_case(session: Session, case_id: str) -> list[LedgerEntry]:
    return list(
        session.scalars(
            select(LedgerEntry).where(LedgerEntry.case_id == case_id).order_by(LedgerEntry.seq)
        )
    )


def entries_for_cases(
    session: Session, case_ids: Sequence[str], kinds: Sequence[str] | None = None
) -> list[tuple[Any, ...]]:
    """The entries (ENTRY_COLUMNS) about these cases, of these kinds when given,
    oldest first. A few queries however many cases (ids bound in batches); plain
    rows, since a period's worth of ORM objects costs more than the queries."""
    columns = [getattr(LedgerEntry, name) for name in ENTRY_COLUMNS]
    found: list[tuple[Any, ...]] = []
    for batch in in_batches(case_ids):
        query = select(*columns).where(LedgerEntry.case_id.in_(batch))
        if kinds is not None:
            query = query.where(LedgerEntry.kind.in_(list(kinds)))
        found.extend(tuple(row) for row in session.execute(query))
    # Merged across batches, ordered by seq (the first column).
    found.sort(key=lambda row: int(row[0]))
    return found


def leaf_hashes(session: Session, indexes: Iterable[int]) -> dict[int, bytes]:
    """Entry hashes (Merkle leaves) by leaf index (``seq - 1``)."""
    wanted = sorted(set(indexes))
    if not wanted:
        return {}
    if len(wanted) > 64:  # a long run: one range scan beats a long IN list
        rows = fetch(
            session,
            "SELECT seq, entry_hash FROM ledger_entries WHERE seq >= ? AND seq <= ?",
            (wanted[0] + 1, wanted[-1] + 1),
        )
    else:
        rows = fetch(
            session,
            f"SELECT seq, entry_hash FROM ledger_entries WHERE seq IN ({_marks(len(wanted))})",
            [index + 1 for index in wanted],
        )
    wanted_set = set(wanted)
    return {seq - 1: bytes.fromhex(digest) for seq, digest in rows if seq - 1 in wanted_set}


def tree_nodes(session: Session, nodes: Iterable[NodeId]) -> dict[NodeId, bytes]:
    by_level: dict[int, list[int]] = {}
    for level, index in set(nodes):
        by_level.setdefault(level, []).append(index)
    if not by_level:
        return {}
    # One (level = ? AND node_index IN (...)) term per level: each is a primary-key
    # lookup, where a row-value IN list would scan the table on SQLite.
    terms, params = [], []
    for level, indexes in by_level.items():
        terms.append(f"(level = ? AND node_index IN ({_marks(len(indexes))}))")
        params += [level, *indexes]
    rows = fetch(
        session,
        f"SELECT level, node_index, digest FROM ledger_tree_nodes WHERE {' OR '.join(terms)}",
        params,
    )
    return {(level, index): bytes(digest) for level, index, digest in rows}


def insert_tree_nodes(session: Session, nodes: Sequence[tuple[int, int, bytes]]) -> None:
    """Insert ``(level, node_index, digest)`` rows."""
    execute_many(
        session, "INSERT INTO ledger_tree_nodes (level, node_index, digest) VALUES (?, ?, ?)", nodes
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

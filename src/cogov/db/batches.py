"""Bulk reads and writes. Reads by id: an ``IN (...)`` list of bounded length, so a read over
thousands of ids stays within every backend's limit on bound parameters
(SQLite's is 32,766 in current builds, 999 in old ones; PostgreSQL's 65,535)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Final, TypeVar, cast

from sqlalchemy import Table, insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from cogov.db.base import Base

#: Ids bound per query: under old SQLite's 999 with room for a few more parameters.
ID_BATCH: Final = 900

T = TypeVar("T")


def in_batches(items: Iterable[T], size: int | None = None) -> Iterator[Sequence[T]]:
    """``items`` without repeats (first occurrence kept), in lists of at most ``size``
    (default ID_BATCH)."""
    size = ID_BATCH if size is None else size
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    unique = list(dict.fromkeys(items))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def insert_rows(session: Session, rows: Sequence[Base]) -> None:
    """Write new rows of one model with a single multi-row INSERT in the session's
    transaction, without adding them to the session (bulk paths build whole batches
    in memory). Unset attributes are written as NULL; the rows stay transient."""
    if not rows:
        return
    mapper = sa_inspect(type(rows[0]))
    columns = [(attr.key, attr.columns[0].key) for attr in mapper.column_attrs]
    session.execute(
        insert(cast(Table, mapper.local_table)),
        [{column: getattr(row, key) for key, column in columns} for row in rows],
    )

"""Bulk reads and writes. Reads by id: an ``IN (...)`` list of bounded length, so a read over
thousands of ids stays within every backend's limit on bound parameters
(SQLite's is 32,766 in current builds, 999 in old ones; PostgreSQL's 65,535)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from types import SimpleNamespace
from typing import Any, Final, TypeVar, cast

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


M = TypeVar("M", bound=Base)


def new_row(model: type[M], draft: bool, /, **values: Any) -> M:
    """A new row of ``model``: an ORM object, or (``draft``) a plain object with the
    model's column attributes (unset ones None) for :func:`insert_rows`, without the
    ORM's per-object bookkeeping, for bulk paths that build whole batches in memory.
    Either way it is read and filled the same way."""
    if not draft:
        return model(**values)
    unknown = values.keys() - _attribute_keys(model)
    if unknown:
        raise TypeError(f"{', '.join(sorted(unknown))}: not columns of {model.__name__}")
    return cast(M, SimpleNamespace(**{**_attribute_keys(model), **values}))


@functools.cache
def _columns(model: type[Base]) -> tuple[tuple[str, str], ...]:
    """(attribute, column) names of a model's columns."""
    mapper = sa_inspect(model)
    return tuple((attr.key, attr.columns[0].key) for attr in mapper.column_attrs)


@functools.cache
def _attribute_keys(model: type[Base]) -> dict[str, None]:
    return dict.fromkeys(key for key, _ in _columns(model))


def insert_rows(session: Session, model: type[Base], rows: Sequence[object]) -> None:
    """Write new rows of ``model`` (ORM objects not in the session, or rows from
    :func:`new_row`) with one multi-row INSERT in the session's transaction.
    Unset attributes are written as NULL."""
    if not rows:
        return
    columns = _columns(model)
    session.execute(
        insert(cast(Table, sa_inspect(model).local_table)),
        [{column: getattr(row, key) for key, column in columns} for row in rows],
    )

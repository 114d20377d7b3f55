"""Bulk reads by id: an ``IN (...)`` list of bounded length, so a read over
thousands of ids stays within every backend's limit on bound parameters
(SQLite's is 32,766 in current builds, 999 in old ones; PostgreSQL's 65,535)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Final, TypeVar

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

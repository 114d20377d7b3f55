"""Ids bound in bounded batches, repeats dropped, order kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cogov.db.batches import ID_BATCH, in_batches


@given(st.lists(st.integers(0, 50)), st.integers(1, 7))
def test_batches_cover_each_item_once_in_order(items: list[int], size: int) -> None:
    batches = list(in_batches(items, size))
    assert all(1 <= len(batch) <= size for batch in batches)
    assert [item for batch in batches for item in batch] == list(dict.fromkeys(items))


def test_default_size_stays_under_old_sqlite_limit() -> None:
    assert ID_BATCH < 999
    assert [len(b) for b in in_batches(range(2 * ID_BATCH + 1))] == [ID_BATCH, ID_BATCH, 1]


def test_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(in_batches([1], 0))

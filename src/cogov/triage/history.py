"""Reading a labelled history (CSV or Parquet, through cogov.core.tabular) with the
columns a user names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cogov.core.tabular import read_table
from cogov.triage.errors import TriageInputError
from cogov.triage.text import join_fields


@dataclass(frozen=True, slots=True)
class History:
    texts: list[str]
    labels: list[str] | None
    case_ids: list[str] | None
    rows_read: int
    dropped_empty_text: int
    dropped_empty_label: int


def read_history(
    path: Path,
    *,
    text_columns: Sequence[str],
    label_column: str | None,
    id_column: str | None = None,
) -> History:
    """The texts (named columns joined), labels and ids of a history file.

    Rows whose text columns are all empty, or whose label is empty, are dropped and
    counted: real exports have them, and they teach nothing.
    """
    if not text_columns:
        raise TriageInputError("--text", "name at least one text column")
    wanted = [("--text", column) for column in text_columns]
    for flag, column in (("--label", label_column), ("--id", id_column)):
        if column is not None:
            wanted.append((flag, column))
    frame = read_table(path, flag="--data", wanted=wanted, error=TriageInputError)
    rows_read = frame.height
    text = pl.concat_str(
        [pl.col(column).fill_null("").str.strip_chars() for column in text_columns],
        separator="\u0000",
    ).alias("__text")
    frame = frame.with_columns(text)
    has_text = pl.col("__text").str.replace_all("\u0000", "").str.strip_chars() != ""
    empty_text = frame.filter(~has_text).height
    frame = frame.filter(has_text)
    empty_label = 0
    labels: list[str] | None = None
    if label_column is not None:
        has_label = pl.col(label_column).fill_null("").str.strip_chars() != ""
        empty_label = frame.filter(~has_label).height
        frame = frame.filter(has_label)
        labels = [value.strip() for value in frame[label_column].to_list()]
    texts = [join_fields(value.split("\u0000")) for value in frame["__text"].to_list()]
    ids = [str(value) for value in frame[id_column].to_list()] if id_column else None
    return History(
        texts=texts,
        labels=labels,
        case_ids=ids,
        rows_read=rows_read,
        dropped_empty_text=empty_text,
        dropped_empty_label=empty_label,
    )

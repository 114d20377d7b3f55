"""Reading a labelled history (CSV or Parquet) with the columns a user names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cogov.triage.errors import TriageInputError
from cogov.triage.text import join_fields

READABLE = (".csv", ".tsv", ".txt", ".parquet", ".pq")


@dataclass(frozen=True, slots=True)
class History:
    texts: list[str]
    labels: list[str] | None
    case_ids: list[str] | None
    rows_read: int
    dropped_empty_text: int
    dropped_empty_label: int


def read_table(path: Path) -> pl.DataFrame:
    """Every column as text; CSV (UTF-8, BOM tolerated), TSV or Parquet by suffix."""
    if not path.exists():
        raise TriageInputError("--data", f"{path} does not exist")
    if path.is_dir():
        raise TriageInputError("--data", f"{path} is a directory, not a CSV or Parquet file")
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        raise TriageInputError(
            "--data", f"{path.name}: unknown file type {suffix!r}; use CSV or Parquet"
        )
    if path.stat().st_size == 0:
        raise TriageInputError("--data", f"{path} is empty")
    try:
        if suffix in (".parquet", ".pq"):
            frame = pl.read_parquet(path)
            frame = frame.select(pl.all().cast(pl.Utf8))
        else:
            frame = pl.read_csv(
                path,
                infer_schema_length=0,  # every column as text: ids like 007 stay as written
                separator="\t" if suffix == ".tsv" else ",",
                encoding="utf8-lossy",
                truncate_ragged_lines=True,
            )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise TriageInputError("--data", f"{path} could not be read ({exc})") from None
    # A UTF-8 byte-order mark sticks to the first header cell in some exports.
    frame = frame.rename({name: name.lstrip("\ufeff").strip() for name in frame.columns})
    if frame.height == 0:
        raise TriageInputError("--data", f"{path} has a header but no rows")
    return frame


def _require(frame: pl.DataFrame, column: str, flag: str) -> None:
    if column not in frame.columns:
        available = ", ".join(frame.columns)
        raise TriageInputError(flag, f"no column {column!r} in the file; available: {available}")


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
    frame = read_table(path)
    for column in text_columns:
        _require(frame, column, "--text")
    if label_column is not None:
        _require(frame, label_column, "--label")
    if id_column is not None:
        _require(frame, id_column, "--id")
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

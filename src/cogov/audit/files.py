"""Adapter (a): a file of cases (CSV or Parquet) with column flags or a preset,
so an agency can audit its own history before it adopts cogov."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Final

import polars as pl

from cogov.audit.errors import BadColumn, BadInput, MissingColumn
from cogov.audit.frame import (
    BOOL_COLUMNS,
    CASE_COLUMNS,
    TIME,
    TIME_COLUMNS,
    CaseFrame,
    conform,
    split_group,
)
from cogov.core import tabular

#: The CLI flag that names each case column (used in error messages).
FLAGS: Final[dict[str, str]] = {
    "case_id": "--id",
    "created_at": "--created",
    "routed_at": "--routed",
    "first_response_at": "--first-response",
    "closed_at": "--closed",
    "due_at": "--due",
    "service": "--service",
    "agent": "--agent",
    "channel": "--channel",
    "area": "--case-area",
    "handled_without_human": "--without-human",
    "overridden": "--overridden",
    "appealed": "--appealed",
    "appeal_upheld": "--appeal-upheld",
    "proposed_route": "--proposed-route",
    "final_route": "--final-route",
    "duplicate_of": "--duplicate-of",
    "draft_seconds": "--draft-seconds",
    "on_time": "--on-time",
}

TRUE_WORDS: Final = ("true", "t", "yes", "y", "1", "1.0")
FALSE_WORDS: Final = ("false", "f", "no", "n", "0", "0.0")

MIN_READ_SHARE: Final = 0.9


@dataclass(frozen=True)
class ColumnMap:
    """Which source column fills each case column (``None``: the source has none),
    and the source columns to audit as groups (a pair written ``"a*b"``)."""

    case_id: str | None = None
    created_at: str | None = None
    routed_at: str | None = None
    first_response_at: str | None = None
    closed_at: str | None = None
    due_at: str | None = None
    service: str | None = None
    agent: str | None = None
    channel: str | None = None
    area: str | None = None
    handled_without_human: str | None = None
    overridden: str | None = None
    appealed: str | None = None
    appeal_upheld: str | None = None
    proposed_route: str | None = None
    final_route: str | None = None
    duplicate_of: str | None = None
    draft_seconds: str | None = None
    on_time: str | None = None
    groups: tuple[str, ...] = ()

    def mapped(self) -> dict[str, str]:
        """case column -> source column, for the columns this map fills."""
        return {
            f.name: value
            for f in fields(self)
            if f.name != "groups" and isinstance(value := getattr(self, f.name), str)
        }

    def merged(self, overrides: Mapping[str, object]) -> ColumnMap:
        """This map with the given (non-empty) fields replaced, e.g. CLI flags over a preset."""
        given = {key: value for key, value in overrides.items() if value not in (None, (), [])}
        if "groups" in given:
            given["groups"] = tuple(given["groups"])  # type: ignore[arg-type]
        return replace(self, **given)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Preset:
    """A known open-data schema: its column map and how its areas are named."""

    name: str
    description: str
    columns: ColumnMap
    notes: tuple[str, ...] = field(default_factory=tuple)


def _audit_view(source: tabular.Preset) -> Preset:
    """The case columns of a known export (cogov.core.tabular.PRESETS)."""
    return Preset(
        source.name,
        source.description,
        ColumnMap(
            case_id=source.id,
            created_at=source.created,
            routed_at=source.routed,
            closed_at=source.closed,
            due_at=source.due,
            service=source.service,
            agent=source.agent,
            final_route=source.department,
            channel=source.channel,
            area=source.area,
            on_time=source.on_time,
            appealed=source.appealed,
            groups=source.groups,
        ),
        source.notes,
    )


PRESETS: Final[dict[str, Preset]] = {
    name: _audit_view(source) for name, source in tabular.PRESETS.items()
}


def preset(name: str) -> Preset:
    return PRESETS[tabular.preset(name, "--preset", BadInput).name]


def scan(path: Path, flag: str = "--data") -> pl.LazyFrame:
    """A lazy reader for a CSV or Parquet file (CSV columns are read as text, header
    names cleaned); ``flag`` names the option the path came from, for errors."""
    return tabular.scan_table(path, flag, BadInput)


def read_cases(path: Path, columns: ColumnMap) -> CaseFrame:
    """Read a file of cases into a case frame. Raises MissingColumn (naming the
    flag and listing the file's columns) or BadColumn for unreadable values."""
    with unreadable_as_input("--data", path):
        return _read_cases(path, columns)


@contextmanager
def unreadable_as_input(flag: str, path: Path) -> Iterator[None]:
    """A file the reader chokes on (bad encoding, ragged rows ...) is bad input,
    named by its flag, in one line."""
    try:
        yield
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(flag, f"{path.name} cannot be read: {first}") from exc


def _read_cases(path: Path, columns: ColumnMap) -> CaseFrame:
    return frame_from_table(scan(path), columns, source=path.name)


def frame_from_table(
    table: pl.LazyFrame | pl.DataFrame,
    columns: ColumnMap,
    *,
    source: str = "the data",
    available: Sequence[str] | None = None,
) -> CaseFrame:
    """Map a source table onto the case frame, converting types."""
    lazy = table.lazy()
    names = list(available if available is not None else lazy.collect_schema().names())
    mapped = columns.mapped()
    for case_column, source_column in mapped.items():
        if source_column not in names:
            raise MissingColumn(FLAGS[case_column], source_column, source, names)
    group_parts = list(
        dict.fromkeys(part for group in columns.groups for part in split_group(group))
    )
    for part in group_parts:
        if part in CASE_COLUMNS and part not in mapped and part in names:
            mapped[part] = part  # a source column that already has a case column's name
        # A group may name a case column the map fills ("channel", "service", ...).
        if part not in names and part not in mapped:
            raise MissingColumn("--group", part, source, names)
    extra_groups = [part for part in group_parts if part not in CASE_COLUMNS]
    if "created_at" not in mapped:
        raise BadInput(
            "--created",
            f"name the column with the time each case was created; columns of {source}: {names}",
        )

    wanted = list(dict.fromkeys([*mapped.values(), *extra_groups]))
    raw = lazy.select(wanted).collect()
    converted = [
        _convert(raw.get_column(source_column), case_column).alias(case_column)
        for case_column, source_column in mapped.items()
    ]
    extras = [raw.get_column(name).cast(pl.String).alias(name) for name in extra_groups]
    data = pl.DataFrame([*converted, *extras])
    frame = conform(data, extra_groups)
    created_nulls = frame.get_column("created_at").null_count()
    if frame.height and created_nulls == frame.height:
        raise BadColumn("--created", mapped["created_at"], "has no readable time in any row")
    return CaseFrame(frame, tuple(columns.groups), source, frozenset(mapped))


def _convert(series: pl.Series, case_column: str) -> pl.Series:
    flag = FLAGS[case_column]
    if case_column in TIME_COLUMNS:
        return parse_times(series, flag)
    if case_column in BOOL_COLUMNS:
        return parse_booleans(series, flag)
    if case_column == "draft_seconds":
        converted = series.cast(pl.Float64, strict=False)
        if converted.null_count() > series.null_count() + series.len() * (1 - MIN_READ_SHARE):
            raise BadColumn(flag, str(series.name), "is not numeric (seconds)")
        return converted
    return series.cast(pl.String).str.strip_chars().replace("", None)


def parse_times(series: pl.Series, flag: str) -> pl.Series:
    """Read a column as UTC times without a zone; dates become midnight. Text is
    read in the known format that reads most of a sample (cogov.core.tabular), and
    refused when even that reads too little of it."""
    if series.dtype == pl.Date or isinstance(series.dtype, pl.Datetime):
        return tabular.parse_times(series).cast(TIME)
    text = tabular.as_text(series)
    if text.null_count() == text.len():
        return pl.Series(str(series.name), [None] * series.len(), dtype=TIME)
    guess = tabular.guess_time_format(text)
    if guess is None or guess.share < MIN_READ_SHARE:
        example = text.drop_nulls()[0]
        raise BadColumn(
            flag, str(series.name), f"is not a date or time I can read (e.g. {example!r})"
        )
    return tabular.parse_times(text, [guess.format]).cast(TIME)


def parse_booleans(series: pl.Series, flag: str) -> pl.Series:
    """Read yes/no, true/false, y/n, 1/0 (any case) as booleans; blanks are null."""
    if series.dtype == pl.Boolean:
        return series
    if series.dtype.is_numeric():
        return (series != 0).cast(pl.Boolean)
    text = series.cast(pl.String).str.strip_chars().str.to_lowercase().replace("", None)
    result = (
        pl.when(text.is_in(TRUE_WORDS))
        .then(True)
        .when(text.is_in(FALSE_WORDS))
        .then(False)
        .otherwise(None)
    )
    out = pl.select(result.alias(str(series.name))).to_series()
    unread = text.drop_nulls().len() - out.drop_nulls().len()
    if unread > 0:
        odd = (
            text.filter(~text.is_in(TRUE_WORDS + FALSE_WORDS) & text.is_not_null()).unique().head(5)
        )
        raise BadColumn(flag, str(series.name), f"has values that are not yes/no: {odd.to_list()}")
    return out


def read_targets(path: Path) -> dict[str, float]:
    """Per-service targets from a CSV/Parquet with columns ``service`` and ``hours``."""
    with unreadable_as_input("--targets", path):
        return _read_targets(path)


def _read_targets(path: Path) -> dict[str, float]:
    lazy = scan(path, "--targets")
    names = lazy.collect_schema().names()
    for column in ("service", "hours"):
        if column not in names:
            raise MissingColumn("--targets", column, path.name, names)
    table = lazy.select(
        pl.col("service").cast(pl.String), pl.col("hours").cast(pl.Float64, strict=False)
    ).collect()
    if table.get_column("hours").null_count():
        raise BadColumn("--targets", "hours", f"in {path.name} has values that are not numbers")
    if bool((table.get_column("hours") <= 0).any()):
        raise BadColumn("--targets", "hours", f"in {path.name} must be positive")
    return dict(
        zip(table.get_column("service").to_list(), table.get_column("hours").to_list(), strict=True)
    )

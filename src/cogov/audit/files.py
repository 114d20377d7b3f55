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

# Tried in order on a sample of each time column; the one that reads the most wins.
TIME_FORMATS: Final = (
    # UTC spelled out: cogov's own ISO text ("...Z") and BigQuery exports ("... UTC").
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d %H:%M:%S%.f UTC",
    "%Y-%m-%d %H:%M:%S UTC",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%y %H:%M",
    "%m/%d/%Y",
    "%m/%d/%y",
)
ZONED_FORMATS: Final = (
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%#z",
    "%Y-%m-%d %H:%M:%S%#z",
)
SAMPLE_ROWS: Final = 2_000
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


PRESETS: Final[dict[str, Preset]] = {
    "nyc311": Preset(
        "nyc311",
        "NYC 311 Service Requests (NYC Open Data erm2-nwe9, 41 columns)",
        ColumnMap(
            case_id="Unique Key",
            created_at="Created Date",
            closed_at="Closed Date",
            due_at="Due Date",
            service="Complaint Type",
            final_route="Agency",
            channel="Open Data Channel Type",
            area="Community Board",
            groups=("Borough", "channel"),
        ),
    ),
    "baltimore311": Preset(
        "baltimore311",
        "Baltimore 311 Customer Service Requests (Open Baltimore)",
        ColumnMap(
            case_id="ServiceRequestNum",
            created_at="CreatedDate",
            closed_at="CloseDate",
            due_at="DueDate",
            service="SRType",
            final_route="Agency",
            channel="MethodReceived",
            area="Neighborhood",
            groups=("CouncilDistrict", "channel"),
        ),
    ),
    "la311": Preset(
        "la311",
        "Los Angeles MyLA311 Service Request Data",
        ColumnMap(
            case_id="SRNumber",
            created_at="CreatedDate",
            closed_at="ClosedDate",
            service="RequestType",
            final_route="Owner",
            channel="RequestSource",
            area="NCName",
            groups=("CD", "channel"),
        ),
    ),
    "cfpb": Preset(
        "cfpb",
        "CFPB Consumer Complaint Database",
        ColumnMap(
            case_id="Complaint ID",
            created_at="Date received",
            routed_at="Date sent to company",
            service="Product",
            final_route="Company",
            channel="Submitted via",
            on_time="Timely response?",
            appealed="Consumer disputed?",
            area="State",
            groups=("Tags", "channel"),
        ),
        (
            "'Tags' carries the 'Older American' age proxy; "
            "'Consumer disputed?' is read as an appeal.",
        ),
    ),
    "sf311": Preset(
        "sf311",
        "San Francisco SF311 cases (DataSF / BigQuery schema)",
        ColumnMap(
            case_id="unique_key",
            created_at="created_date",
            closed_at="closed_date",
            service="category",
            final_route="agency_name",
            channel="source",
            area="neighborhood",
            groups=("supervisor_district", "channel"),
        ),
    ),
    "nyc-council": Preset(
        "nyc-council",
        "NYC Council constituent services (CouncilStat)",
        ColumnMap(
            case_id="unique_key",
            created_at="opendate",
            closed_at="closedate",
            service="complaint_type",
            agent="account",
            area="community_board",
            groups=("borough", "council_dist"),
        ),
        ("Dates are whole days, so times are multiples of 24 hours.",),
    ),
}


def preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise BadInput(
            "--preset", f"{name!r} is not a preset; presets: {sorted(PRESETS)}"
        ) from None


def scan(path: Path, flag: str = "--data") -> pl.LazyFrame:
    """A lazy reader for a CSV or Parquet file (CSV columns are read as text);
    ``flag`` names the option the path came from, for errors."""
    if not path.exists():
        raise BadInput(flag, f"{path} does not exist")
    if path.is_dir():
        raise BadInput(flag, f"{path} is a directory, not a CSV or Parquet file")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pl.scan_parquet(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return pl.scan_csv(
            path,
            infer_schema=False,
            separator="\t" if suffix == ".tsv" else ",",
            encoding="utf8-lossy",
        )
    raise BadInput(flag, f"{path.name}: not a CSV or Parquet file (by its extension)")


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
    lazy = scan(path)
    available = [name.lstrip("\ufeff") for name in lazy.collect_schema().names()]
    lazy = lazy.rename(
        {
            old: new
            for old, new in zip(lazy.collect_schema().names(), available, strict=True)
            if old != new
        }
    )
    return frame_from_table(lazy, columns, source=path.name, available=available)


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
    """Read a column as UTC times without a zone; dates become midnight."""
    name = str(series.name)
    if series.dtype == pl.Date:
        return series.cast(TIME)
    if isinstance(series.dtype, pl.Datetime):
        if series.dtype.time_zone is not None:
            series = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return series.cast(TIME)
    text = series.cast(pl.String).str.strip_chars().replace("", None)
    present = text.drop_nulls()
    if present.is_empty():
        return pl.Series(name, [None] * series.len(), dtype=TIME)
    sample = present.head(SAMPLE_ROWS)
    best_format, best_count, zoned = None, -1, False
    for fmt in TIME_FORMATS + ZONED_FORMATS:
        is_zoned = fmt in ZONED_FORMATS
        parsed = sample.str.strptime(
            pl.Datetime("us", "UTC") if is_zoned else TIME, fmt, strict=False
        )
        # A two-digit year read by %Y lands in the first century: not a plausible case date.
        count = int((parsed.dt.year() >= 1900).sum())
        if count > best_count:
            best_format, best_count, zoned = fmt, count, is_zoned
    if best_format is None or best_count < MIN_READ_SHARE * sample.len():
        raise BadColumn(flag, name, f"is not a date or time I can read (e.g. {sample[0]!r})")
    if zoned:
        parsed_all = text.str.strptime(pl.Datetime("us", "UTC"), best_format, strict=False)
        return parsed_all.dt.replace_time_zone(None).cast(TIME)
    return text.str.strptime(TIME, best_format, strict=False)


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

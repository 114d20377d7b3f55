"""One reader for the table files cogov is given: a labelled history to learn from,
cases to audit or replay, targets, a population table (CSV, TSV or Parquet).

It gives every file the same checks (there, a file, a known kind, not empty,
readable), reads CSV columns as text (ids like ``007`` stay as written), trims a
byte-order mark and spaces from header names, and names the flag the path came from
in every error. :data:`PRESETS` (data: ``cogov/core/data/presets.yaml``) says which
column holds what in the public exports cogov knows; :func:`parse_times` reads their
dates. Triage, audit and the pipeline
each take their view of a preset (the columns they need) from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Final

import polars as pl
import yaml

from cogov.core.errors import ValidationFailed

#: Makes the error a caller raises for (field, reason): each package keeps its own class.
ErrorFactory = Callable[[str, str], Exception]
#: Makes the error for a missing column: (flag, column, source name, columns there).
MissingFactory = Callable[[str, str, str, Sequence[str]], Exception]

SEPARATORS: Final[Mapping[str, str]] = {".csv": ",", ".txt": ",", ".tsv": "\t"}
PARQUET: Final = (".parquet", ".pq")
#: Naive datetimes in UTC, microseconds: what every reader here returns for a time.
TIME: Final = pl.Datetime("us")

# Tried in order on a sample of a time column when no format is named; the one that
# reads the most wins.
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
#: Formats with an offset: read, then converted to UTC.
ZONED_FORMATS: Final = (
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%#z",
    "%Y-%m-%d %H:%M:%S%#z",
)
SAMPLE_ROWS: Final = 2_000


def missing_as(error: ErrorFactory) -> MissingFactory:
    """Missing columns reported as ``error`` (field = the flag), listing what is there."""

    def missing(flag: str, column: str, source: str, available: Sequence[str]) -> Exception:
        return error(flag, f"no column {column!r} in {source}; available: {', '.join(available)}")

    return missing


# --- files ---------------------------------------------------------------------------------
def check_file(path: Path, flag: str = "--data", error: ErrorFactory = ValidationFailed) -> str:
    """The file's suffix, once it is there, a file, CSV/TSV or Parquet, and not empty."""
    if not path.exists():
        raise error(flag, f"{path} does not exist")
    if path.is_dir():
        raise error(flag, f"{path} is a directory, not a CSV or Parquet file")
    suffix = path.suffix.lower()
    if suffix not in SEPARATORS and suffix not in PARQUET:
        raise error(flag, f"{path.name}: unknown file type {suffix!r}; not a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise error(flag, f"{path} is empty")
    return suffix


def _unreadable(exc: BaseException, path: Path, flag: str, error: ErrorFactory) -> Exception:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return error(flag, f"{path.name} cannot be read: {first}")


def scan_table(
    path: Path, flag: str = "--data", error: ErrorFactory = ValidationFailed
) -> pl.LazyFrame:
    """A lazy reader for the file (CSV columns as text), header names cleaned. What
    the file holds is read when the frame is collected: do that inside
    :func:`unreadable_as` so a broken file is one clear error."""
    suffix = check_file(path, flag, error)
    try:
        if suffix in PARQUET:
            lazy = pl.scan_parquet(path)
        else:
            lazy = pl.scan_csv(
                path,
                infer_schema=False,  # every column as text: ids like 007 stay as written
                separator=SEPARATORS[suffix],
                encoding="utf8-lossy",
            )
        names = lazy.collect_schema().names()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _unreadable(exc, path, flag, error) from None
    # A UTF-8 byte-order mark sticks to the first header cell in some exports.
    clean = [name.lstrip("\ufeff").strip() for name in names]
    renames = {old: new for old, new in zip(names, clean, strict=True) if old != new}
    return lazy.rename(renames) if renames else lazy


def collect(
    lazy: pl.LazyFrame, path: Path, flag: str = "--data", error: ErrorFactory = ValidationFailed
) -> pl.DataFrame:
    """Collect a frame of :func:`scan_table`; a file the reader chokes on (bad
    encoding, an unclosed quote ...) is bad input, named by its flag, in one line."""
    try:
        return lazy.collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _unreadable(exc, path, flag, error) from None


def require_columns(
    available: Sequence[str],
    wanted: Iterable[tuple[str, str]],
    source: str,
    missing: MissingFactory | None = None,
) -> None:
    """Each (flag, column) wanted is in ``available``; else the first one missing,
    named by its flag, with the columns that are there."""
    there = set(available)
    for flag, column in wanted:
        if column not in there:
            report = missing or missing_as(ValidationFailed)
            raise report(flag, column, source, list(available))


def read_table(
    path: Path,
    *,
    flag: str = "--data",
    wanted: Iterable[tuple[str, str]] | None = None,
    error: ErrorFactory = ValidationFailed,
    missing: MissingFactory | None = None,
) -> pl.DataFrame:
    """The file read eagerly, every column as text, with at least one row. With
    ``wanted`` ((flag, column) pairs), only those columns, each checked first (a missing
    one is ``missing``'s error, by default ``error`` naming its flag)."""
    lazy = scan_table(path, flag, error)
    if wanted is not None:
        pairs = list(wanted)
        names = lazy.collect_schema().names()
        require_columns(names, pairs, path.name, missing or missing_as(error))
        lazy = lazy.select(list(dict.fromkeys(column for _, column in pairs)))
    frame = collect(lazy.select(pl.all().cast(pl.String)), path, flag, error)
    if frame.height == 0:
        raise error(flag, f"{path} has a header but no rows")
    return frame


# --- times ---------------------------------------------------------------------------------
def as_text(series: pl.Series) -> pl.Series:
    """Text with surrounding spaces trimmed and blanks as null."""
    return series.cast(pl.String).str.strip_chars().replace("", None)


@dataclass(frozen=True, slots=True)
class TimeGuess:
    """The known format that reads the most of a sample, and how many it read."""

    format: str
    read: int
    sample: int

    @property
    def share(self) -> float:
        return self.read / self.sample if self.sample else 0.0


def guess_time_format(text: pl.Series) -> TimeGuess | None:
    """Try every known format on a sample of the (non-null) text; None where none
    reads a plausible time (a two-digit year read by ``%Y`` is not one)."""
    sample = text.drop_nulls().head(SAMPLE_ROWS)
    best: TimeGuess | None = None
    for fmt in TIME_FORMATS + ZONED_FORMATS:
        count = int((_strptime(sample, fmt).dt.year() >= 1900).sum())
        if count and (best is None or count > best.read):
            best = TimeGuess(fmt, count, sample.len())
    return best


def _strptime(text: pl.Series, fmt: str) -> pl.Series:
    if fmt in ZONED_FORMATS or fmt.endswith(("%z", "%#z", "%:z")):
        parsed = text.str.strptime(pl.Datetime("us", "UTC"), fmt, strict=False)
        return parsed.dt.replace_time_zone(None)
    return text.str.strptime(TIME, fmt, strict=False)


def parse_times(series: pl.Series, formats: Sequence[str] = ()) -> pl.Series:
    """A column as naive UTC times; dates become midnight, blanks and values no format
    reads become null. ``formats`` are tried in order, each filling what the earlier
    ones left; with none, the known format that reads most of a sample is used."""
    name = str(series.name)
    if series.dtype == pl.Date:
        return series.cast(TIME)
    if isinstance(series.dtype, pl.Datetime):
        if series.dtype.time_zone is not None:
            series = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return series.cast(TIME)
    text = as_text(series)
    if not formats:
        guess = guess_time_format(text)
        formats = (guess.format,) if guess else ()
    parsed = pl.Series(name, [None] * series.len(), dtype=TIME)
    for fmt in formats:
        parsed = parsed.fill_null(_strptime(text, fmt))
    return parsed.alias(name)


# --- presets -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Preset:
    """Which column of a known public export holds what. Every reader takes the
    columns it needs: the audit its case columns, the demo its texts and label, the
    duplicate replay its places, times and the agency's own duplicate closures."""

    name: str
    description: str
    id: str
    created: str
    #: How ``created`` (and the other times) are written; tried in order.
    time_formats: tuple[str, ...] = ()
    closed: str | None = None
    due: str | None = None
    routed: str | None = None
    service: str | None = None
    #: Who handled the case (the department or company it was routed to).
    department: str | None = None
    #: What a router learns to propose, where that is not ``department``.
    label: str | None = None
    channel: str | None = None
    area: str | None = None
    agent: str | None = None
    on_time: str | None = None
    appealed: str | None = None
    #: Columns whose values describe the request, for an engine to read.
    text: tuple[str, ...] = ()
    #: A finer-grained description kept beside the text (NYC's Descriptor).
    detail: str | None = None
    #: The agency's own outcome text, and the pattern (any case) that marks a duplicate.
    outcome: str | None = None
    duplicate_pattern: str | None = None
    latitude: str | None = None
    longitude: str | None = None
    address: str | None = None
    postcode: str | None = None
    #: Columns (or case columns such as ``channel``) to audit as groups.
    groups: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def learns(self) -> str | None:
        """The column a router learns to propose."""
        return self.label or self.department


def load_presets(data: object, source: str = "presets.yaml") -> dict[str, Preset]:
    """Presets from their data (a mapping of name -> fields of :class:`Preset`); an
    unknown or missing field, or a value of the wrong kind, names the preset and field."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a mapping of preset name -> columns")
    kinds = {f.name: str(f.type) for f in fields(Preset) if f.name != "name"}
    required = {"description", "id", "created"}
    presets: dict[str, Preset] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise ValueError(f"{source}: {name}: a mapping of field -> column")
        if unknown := set(entry) - set(kinds):
            raise ValueError(f"{source}: {name}: unknown fields {sorted(unknown)}")
        if missing := required - set(entry):
            raise ValueError(f"{source}: {name}: missing {sorted(missing)}")
        values: dict[str, object] = {}
        for key, value in entry.items():
            if kinds[key].startswith("tuple"):
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ValueError(f"{source}: {name}.{key}: a list of texts")
                values[key] = tuple(value)
            elif not isinstance(value, str) or not value:
                raise ValueError(f"{source}: {name}.{key}: a column name (text)")
            else:
                values[key] = value
        presets[str(name)] = Preset(name=str(name), **values)  # type: ignore[arg-type]
    return presets


#: The known exports (cogov/core/data/presets.yaml), by name.
PRESETS: Final[Mapping[str, Preset]] = load_presets(
    yaml.safe_load(resources.files("cogov.core").joinpath("data/presets.yaml").read_text("utf-8"))
)


def preset(name: str, flag: str = "--preset", error: ErrorFactory = ValidationFailed) -> Preset:
    """The preset called ``name``; an unknown name lists the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(repr(known) for known in sorted(PRESETS))
        raise error(flag, f"{name!r} is not a preset; presets: {known}") from None

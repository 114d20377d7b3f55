"""The case frame: one tidy Polars table every audit metric reads.

Two adapters fill it (a file of cases in :mod:`cogov.audit.files`, the live
database in :mod:`cogov.audit.live`); the metrics never care which. Columns a
source does not have are present and null, so every metric is computed the same
way and simply comes out null (and is reported as "no data") where nothing fed it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Final

import polars as pl

from cogov.audit.errors import BadInput

TIME = pl.Datetime("us")

#: The documented columns of a case frame and their types (see docs/audit.md).
CASE_COLUMNS: Final[dict[str, pl.DataType]] = {
    "case_id": pl.String(),
    "created_at": TIME,
    "routed_at": TIME,
    "first_response_at": TIME,
    "closed_at": TIME,
    "due_at": TIME,
    "service": pl.String(),
    "agent": pl.String(),
    "channel": pl.String(),
    "area": pl.String(),
    "handled_without_human": pl.Boolean(),
    "overridden": pl.Boolean(),
    "appealed": pl.Boolean(),
    "appeal_upheld": pl.Boolean(),
    "proposed_route": pl.String(),
    "final_route": pl.String(),
    "duplicate_of": pl.String(),
    "draft_seconds": pl.Float64(),
    # An outcome recorded by the source itself (e.g. CFPB's "Timely response?");
    # where null, on-time is derived from due_at / per-service targets.
    "on_time": pl.Boolean(),
}

TIME_COLUMNS: Final = ("created_at", "routed_at", "first_response_at", "closed_at", "due_at")
BOOL_COLUMNS: Final = (
    "handled_without_human",
    "overridden",
    "appealed",
    "appeal_upheld",
    "on_time",
)

#: Label of a group value that was not recorded, so such cases stay visible.
NOT_RECORDED: Final = "(not recorded)"
#: Joins the values of a pair of group columns into one group label.
PAIR_JOIN: Final = " × "

HOUR_US: Final = 3_600_000_000


@dataclass(frozen=True)
class CaseFrame:
    """A case frame with the names of its group columns and where it came from.

    ``groups`` are column names in ``data`` (core columns such as ``channel`` or
    extra ones carried from the source, e.g. ``borough``)."""

    data: pl.DataFrame
    groups: tuple[str, ...] = ()
    source: str = ""
    #: The case columns the source really provided (the others are all null).
    provided: frozenset[str] = frozenset()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rows(self) -> int:
        return self.data.height


def within(frame: CaseFrame, start: datetime | None, end: datetime | None) -> CaseFrame:
    """The cases created in [start, end] (naive times are UTC; either bound may be open)."""
    check_period(start, end)
    if start is None and end is None:
        return frame
    condition = pl.lit(True)
    if start is not None:
        condition = condition & (pl.col("created_at") >= _naive(start))
    if end is not None:
        condition = condition & (pl.col("created_at") <= _naive(end))
    return replace(frame, data=frame.data.filter(condition))


def check_period(start: datetime | None, end: datetime | None) -> None:
    """Refuse a period that ends before it starts (it would hold no case, silently)."""
    if start is not None and end is not None and _naive(start) > _naive(end):
        raise BadInput("--from", f"{start.isoformat()} is after --to {end.isoformat()}")


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def empty_column(name: str, height: int) -> pl.Series:
    return pl.Series(name, [None] * height, dtype=CASE_COLUMNS[name])


def conform(data: pl.DataFrame, extra: Sequence[str] = ()) -> pl.DataFrame:
    """Give ``data`` every case column in its documented type (missing ones null),
    followed by the ``extra`` columns (as strings), and nothing else."""
    missing = [empty_column(name, data.height) for name in CASE_COLUMNS if name not in data.columns]
    if missing:
        data = data.with_columns(missing)
    core = [pl.col(name).cast(dtype) for name, dtype in CASE_COLUMNS.items()]
    extras = [
        pl.col(name).cast(pl.String) for name in dict.fromkeys(extra) if name not in CASE_COLUMNS
    ]
    return data.select(core + extras)


def case_frame(
    data: pl.DataFrame | Sequence[Mapping[str, object]],
    *,
    groups: Sequence[str] = (),
    source: str = "",
) -> CaseFrame:
    """Build a case frame from a table (or rows) that already uses the documented
    column names; any of them may be absent. ``groups`` name the group columns."""
    table = (
        data
        if isinstance(data, pl.DataFrame)
        else pl.DataFrame(list(data), infer_schema_length=None)
    )
    wanted = [part for name in groups for part in split_group(name)]
    for name in wanted:
        if name not in table.columns and name not in CASE_COLUMNS:
            raise BadInput("groups", f"{name!r} is not a column; columns: {table.columns}")
    provided = frozenset(name for name in CASE_COLUMNS if name in table.columns)
    return CaseFrame(conform(table, wanted), tuple(groups), source, provided)


def split_group(name: str) -> tuple[str, ...]:
    """A group is one column or a pair written ``"a*b"`` (intersectional groups)."""
    return tuple(part.strip() for part in name.split("*")) if "*" in name else (name,)


def group_label(name: str) -> pl.Expr:
    """The group label per case: the value as text, '(not recorded)' where null,
    and the values of a pair joined by ' × '."""
    parts = [
        pl.col(part).cast(pl.String).str.strip_chars().replace("", None).fill_null(NOT_RECORDED)
        for part in split_group(name)
    ]
    joined = parts[0] if len(parts) == 1 else pl.concat_str(parts, separator=PAIR_JOIN)
    return joined.alias("group")


def hours_between(start: str, end: str) -> pl.Expr:
    """Hours from ``start`` to ``end``; null where either is missing or end < start
    (a clock error in the source, not a negative duration)."""
    span = (pl.col(end) - pl.col(start)).dt.total_microseconds() / HOUR_US
    return pl.when(span >= 0).then(span).otherwise(None)


@dataclass(frozen=True)
class OnTimeRule:
    """How on-time is decided where the source did not record it.

    ``targets``: hours allowed per service (e.g. ``{"Noise": 8}``); ``default_hours``:
    a target for every other service; ``as_of``: the moment an open case is judged
    against its due date (default: the latest time in the data)."""

    targets: Mapping[str, float] = field(default_factory=dict)
    default_hours: float | None = None
    as_of: datetime | None = None

    def __post_init__(self) -> None:
        if self.default_hours is not None and not 0 < self.default_hours < float("inf"):
            raise BadInput("--target-hours", "must be a positive number of hours")


def derive(frame: CaseFrame, rule: OnTimeRule | None = None) -> pl.DataFrame:
    """The frame with the derived columns every metric uses:
    ``hours_to_route``, ``hours_to_first_response``, ``hours_to_close``,
    ``due`` (recorded or from the targets), ``on_time`` (recorded, else derived),
    ``routed_correctly`` and ``is_duplicate``."""
    rule = rule or OnTimeRule()
    data = frame.data
    target_hours = pl.lit(rule.default_hours, dtype=pl.Float64)
    if rule.targets:
        mapping = pl.DataFrame(
            {"service": list(rule.targets), "_target": [float(v) for v in rule.targets.values()]}
        )
        data = data.join(mapping, on="service", how="left", maintain_order="left")
        target_hours = pl.coalesce(pl.col("_target"), target_hours)
    target_due = pl.col("created_at") + pl.duration(
        microseconds=(target_hours * HOUR_US).cast(pl.Int64)
    )
    as_of = rule.as_of or _latest(data)
    due = pl.coalesce(pl.col("due_at"), target_due)
    derived_on_time = (
        pl.when(pl.col("closed_at").is_not_null())
        .then(pl.col("closed_at") <= pl.col("_due"))
        # Still open: late once the due date has passed, otherwise not yet judged.
        .when(pl.lit(as_of, dtype=TIME) > pl.col("_due"))
        .then(pl.lit(False))
        .otherwise(None)
    )
    return (
        data.with_columns(_due=due)
        .with_columns(
            hours_to_route=hours_between("created_at", "routed_at"),
            hours_to_first_response=hours_between("created_at", "first_response_at"),
            hours_to_close=hours_between("created_at", "closed_at"),
            on_time=pl.coalesce(pl.col("on_time"), derived_on_time),
            # Per case: was an appeal upheld (False where the case was not appealed).
            upheld_appeal=pl.when(pl.col("appealed").is_not_null())
            .then(pl.col("appealed") & pl.col("appeal_upheld").fill_null(False))
            .otherwise(pl.col("appeal_upheld")),
            routed_correctly=pl.when(
                pl.col("proposed_route").is_not_null() & pl.col("final_route").is_not_null()
            ).then(pl.col("proposed_route") == pl.col("final_route")),
            # Only a source that records merges can say a case was not a repeat.
            is_duplicate=pl.col("duplicate_of").is_not_null()
            if "duplicate_of" in frame.provided
            else pl.lit(None, dtype=pl.Boolean),
        )
        .drop([name for name in ("_target",) if name in data.columns])
        .rename({"_due": "due"})
    )


def _latest(data: pl.DataFrame) -> datetime | None:
    row = data.select(
        pl.max_horizontal(pl.col(name).max() for name in TIME_COLUMNS).alias("latest")
    ).row(0)
    value = row[0]
    return value if isinstance(value, datetime) else None

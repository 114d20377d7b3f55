"""Fairness and the digital divide: per-group outcomes, their disparity against a
reference group, bootstrap intervals, and plain warnings where a group is too
small to judge."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
import polars as pl

from cogov.audit.bootstrap import FloatArray, percentile_interval, quantile_draws, rate_draws
from cogov.audit.errors import BadInput, UnknownGroup
from cogov.audit.frame import group_label
from cogov.audit.metrics import FAIRNESS_METRICS, METRICS_BY_NAME, Better, Metric

#: A disparity (group / reference) outside this band is flagged (the "four-fifths" rule, both ways).
DISPARITY_BAND: Final = (0.8, 1.25)
DEFAULT_MIN_GROUP_SIZE: Final = 30
DEFAULT_REPLICATES: Final = 1000
#: A bound on --replicates: beyond it an interval's bounds no longer move, only the run grows.
MAX_REPLICATES: Final = 100_000


_EMPTY_TABLE: Final = pl.DataFrame(
    schema={
        "group": pl.String,
        "cases": pl.Int64,
        "metric": pl.String,
        "value": pl.Float64,
        "n": pl.Int64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "reference": pl.String,
        "reference_value": pl.Float64,
        "disparity": pl.Float64,
        "disparity_ci_low": pl.Float64,
        "disparity_ci_high": pl.Float64,
        "too_small": pl.Boolean,
        "flagged": pl.Boolean,
    }
)
_EMPTY_SUMMARY: Final = pl.DataFrame(
    schema={
        "metric": pl.String,
        "min_group": pl.String,
        "min": pl.Float64,
        "max_group": pl.String,
        "max": pl.Float64,
        "ratio": pl.Float64,
        "difference": pl.Float64,
    }
)


@dataclass(frozen=True)
class FairnessOptions:
    """``reference``: "largest" (most cases), "best" (the best value of each metric
    among groups large enough to judge) or a group's value (e.g. "Brooklyn")."""

    reference: str = "largest"
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    replicates: int = DEFAULT_REPLICATES
    level: float = 0.95
    seed: int = 0
    band: tuple[float, float] = DISPARITY_BAND

    def __post_init__(self) -> None:
        if self.min_group_size < 1:
            raise BadInput("--min-group", "must be at least 1")
        if self.replicates < 0:
            raise BadInput("--replicates", "must be 0 (no intervals) or more")
        if self.replicates > MAX_REPLICATES:
            raise BadInput("--replicates", f"must be at most {MAX_REPLICATES:,}")
        if self.seed < 0:
            raise BadInput("--seed", "must be 0 or more")
        if not 0 < self.level < 1:
            raise BadInput("--level", "must be between 0 and 1")


@dataclass(frozen=True)
class FairnessResult:
    """One group column's audit. ``table`` has one row per (group, metric):
    group, cases, metric, value, n, ci_low, ci_high, reference, reference_value,
    disparity, disparity_ci_low, disparity_ci_high, too_small, flagged.
    ``summary`` has one row per metric: smallest and largest group value and their
    ratio (min/max) and difference (max-min), over groups with a value."""

    group: str
    table: pl.DataFrame
    summary: pl.DataFrame
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def wide(self) -> pl.DataFrame:
        """One row per group, one column per metric value (for a quick look)."""
        return self.table.pivot(
            on="metric", index=["group", "cases"], values="value", aggregate_function="first"
        ).sort("cases", descending=True)


def fairness(
    derived: pl.DataFrame,
    group: str,
    options: FairnessOptions | None = None,
    metrics: Sequence[Metric] = FAIRNESS_METRICS,
) -> FairnessResult:
    """Audit one group column (or a pair "a*b") of a derived case frame
    (:func:`cogov.audit.frame.derive`)."""
    options = options or FairnessOptions()
    columns = sorted({metric.column for metric in metrics})
    data = derived.select(group_label(group), *columns)
    aggregations: list[pl.Expr] = [pl.len().alias("cases")]
    empty = {
        name for name, nulls in data.null_count().row(0, named=True).items() if nulls == data.height
    }
    for metric in metrics:
        if metric.column in empty:  # no case has it: nulls and zeros, without the work
            aggregations += [
                pl.lit(None, dtype=pl.Float64).alias(metric.name),
                pl.lit(0, dtype=pl.UInt32).alias(f"{metric.name}__n"),
                pl.lit(0, dtype=pl.Int64).alias(f"{metric.name}__k"),
            ]
            continue
        aggregations += [metric.point(), metric.known()]
        if metric.kind == "rate":
            aggregations.append(metric.successes())
    per_group = (
        data.group_by("group").agg(aggregations).sort(["cases", "group"], descending=[True, False])
    )
    if per_group.is_empty():
        return FairnessResult(group, _EMPTY_TABLE.clear(), _EMPTY_SUMMARY.clear(), ())
    labels = per_group.get_column("group").to_list()
    cases = per_group.get_column("cases").to_numpy().astype(np.int64)
    rng = np.random.default_rng(options.seed)
    quantile_columns = {m.column for m in metrics if m.kind == "quantile"}
    # Sorted values only feed the bootstrap of quantiles.
    sorted_values = _sorted_by_group(
        data, labels, quantile_columns if options.replicates else set()
    )

    reference = resolve_reference(options.reference, group, labels)
    if reference != options.reference:
        options = replace(options, reference=reference)

    blocks: list[pl.DataFrame] = []
    summaries: list[dict[str, Any]] = []
    for metric in metrics:
        values = per_group.get_column(metric.name).cast(pl.Float64).to_numpy()
        known = per_group.get_column(f"{metric.name}__n").to_numpy().astype(np.int64)
        draws = _draws(metric, per_group, known, sorted_values, options, rng)
        ref = _reference_index(options, labels, cases, values, known, metric)
        blocks.append(_metric_block(metric, labels, cases, values, known, draws, ref, options))
        summaries.append(_summary(metric, labels, values))
    table = pl.concat(blocks, how="vertical")
    return FairnessResult(
        group, table, pl.DataFrame(summaries), tuple(_warnings(group, table, options))
    )


def resolve_reference(reference: str, group: str, labels: Sequence[str]) -> str:
    """The reference to use for one group column. "largest" and "best" apply to
    every column; "COLUMN=VALUE" names a value of one column (the others use the
    largest group); a bare VALUE applies where it occurs, and must occur in some
    column (checked by :func:`check_reference`)."""
    if reference in ("largest", "best"):
        return reference
    column, sep, value = reference.partition("=")
    if sep:
        if column.strip() != group:
            return "largest"
        if value.strip() not in labels:
            raise UnknownGroup(group, value.strip(), labels)
        return value.strip()
    return reference if reference in labels else "largest"


def check_reference(reference: str, results: Sequence[FairnessResult]) -> None:
    """Refuse a named reference that no audited group column contains."""
    if reference in ("largest", "best") or "=" in reference or not results:
        return
    if not any(reference in result.table.get_column("reference").to_list() for result in results):
        values = sorted(
            {str(v) for result in results for v in result.table.get_column("group").to_list()}
        )
        raise UnknownGroup(" or ".join(result.group for result in results), reference, values)


def _sorted_by_group(
    data: pl.DataFrame, labels: list[str], columns: set[str]
) -> dict[str, dict[str, FloatArray]]:
    """For each quantile column: each group's known values, sorted. Groups are
    numbered first so the one sort runs on numbers, not on text."""
    out: dict[str, dict[str, FloatArray]] = {}
    codes = pl.DataFrame({"group": labels, "_code": np.arange(len(labels), dtype=np.uint32)})
    numbered = data.join(codes, on="group", how="left")
    for column in columns:
        ordered = numbered.select("_code", pl.col(column).cast(pl.Float64)).drop_nulls(column)
        ordered = ordered.sort(["_code", column])
        values = ordered.get_column(column).to_numpy()
        counts = np.bincount(ordered.get_column("_code").to_numpy(), minlength=len(labels))
        ends = np.cumsum(counts)
        out[column] = {
            label: values[ends[i] - counts[i] : ends[i]] for i, label in enumerate(labels)
        }
    return out


def _draws(
    metric: Metric,
    per_group: pl.DataFrame,
    known: np.ndarray[Any, np.dtype[np.int64]],
    sorted_values: dict[str, dict[str, FloatArray]],
    options: FairnessOptions,
    rng: np.random.Generator,
) -> FloatArray:
    if options.replicates == 0:
        return np.full((known.size, 0), np.nan)
    if metric.kind == "rate":
        successes = (
            per_group.get_column(f"{metric.name}__k").fill_null(0).to_numpy().astype(np.int64)
        )
        return rate_draws(successes, known, options.replicates, rng)
    by_group = sorted_values[metric.column]
    labels = per_group.get_column("group").to_list()
    return np.vstack(
        [quantile_draws(by_group[label], metric.q, options.replicates, rng) for label in labels]
    )


def _reference_index(
    options: FairnessOptions,
    labels: list[str],
    cases: np.ndarray[Any, np.dtype[np.int64]],
    values: FloatArray,
    known: np.ndarray[Any, np.dtype[np.int64]],
    metric: Metric,
) -> int:
    if options.reference == "largest" or (
        options.reference == "best" and metric.better == Better.NEUTRAL
    ):
        return 0  # groups are sorted by size, largest first
    if options.reference == "best":
        judged = (known >= options.min_group_size) & ~np.isnan(values)
        if not judged.any():
            return 0
        candidates = np.where(
            judged, values if metric.better == Better.HIGHER else -values, -np.inf
        )
        return int(np.argmax(candidates))
    return labels.index(options.reference)


def _metric_block(
    metric: Metric,
    labels: list[str],
    cases: np.ndarray[Any, np.dtype[np.int64]],
    values: FloatArray,
    known: np.ndarray[Any, np.dtype[np.int64]],
    draws: FloatArray,
    ref: int,
    options: FairnessOptions,
) -> pl.DataFrame:
    ref_value = values[ref]
    with np.errstate(divide="ignore", invalid="ignore"):
        disparity = (
            values / ref_value
            if ref_value and not np.isnan(ref_value)
            else np.full(values.size, np.nan)
        )
        ratio_draws = draws / draws[ref][None, :] if draws.shape[1] else draws
    low, high = (
        percentile_interval(draws, options.level)
        if draws.shape[1]
        else (np.full(values.size, np.nan),) * 2
    )
    if draws.shape[1]:
        ratio_draws = np.where(np.isfinite(ratio_draws), ratio_draws, np.nan)
        d_low, d_high = percentile_interval(ratio_draws, options.level)
        d_low[ref] = d_high[ref] = 1.0 if not np.isnan(disparity[ref]) else np.nan
    else:
        d_low = d_high = np.full(values.size, np.nan)
    too_small = known < options.min_group_size
    low_band, high_band = options.band
    flagged = (
        ~too_small
        & (known[ref] >= options.min_group_size)
        & ~np.isnan(disparity)
        & ((disparity < low_band) | (disparity > high_band))
    )
    return pl.DataFrame(
        {
            "group": labels,
            "cases": cases,
            "metric": [metric.name] * len(labels),
            "value": _nullable(values),
            "n": known,
            "ci_low": _nullable(low),
            "ci_high": _nullable(high),
            "reference": [labels[ref]] * len(labels),
            "reference_value": _nullable(np.full(values.size, ref_value)),
            "disparity": _nullable(disparity),
            "disparity_ci_low": _nullable(d_low),
            "disparity_ci_high": _nullable(d_high),
            "too_small": too_small,
            "flagged": flagged,
        },
        schema_overrides={"cases": pl.Int64, "n": pl.Int64},
    )


def _nullable(values: FloatArray) -> pl.Series:
    return pl.Series(values, dtype=pl.Float64).fill_nan(None)


def _summary(metric: Metric, labels: list[str], values: FloatArray) -> dict[str, Any]:
    present = ~np.isnan(values)
    if not present.any():
        return {
            "metric": metric.name,
            "min_group": None,
            "min": None,
            "max_group": None,
            "max": None,
            "ratio": None,
            "difference": None,
        }
    masked_low = np.where(present, values, np.inf)
    masked_high = np.where(present, values, -np.inf)
    lo, hi = int(np.argmin(masked_low)), int(np.argmax(masked_high))
    ratio = values[lo] / values[hi] if values[hi] != 0 else (1.0 if values[lo] == 0 else None)
    return {
        "metric": metric.name,
        "min_group": labels[lo],
        "min": float(values[lo]),
        "max_group": labels[hi],
        "max": float(values[hi]),
        "ratio": None if ratio is None else float(ratio),
        "difference": float(values[hi] - values[lo]),
    }


def _warnings(group: str, table: pl.DataFrame, options: FairnessOptions) -> list[str]:
    """One plain sentence per group that is too small to judge on some metric."""
    small = table.filter(pl.col("too_small") & (pl.col("n") > 0))
    out: list[str] = []
    for (label,), rows in small.group_by("group", maintain_order=True):
        parts = ", ".join(
            f"{_label(name)} ({n} cases)"
            for name, n in zip(rows.get_column("metric"), rows.get_column("n"), strict=True)
        )
        out.append(
            f"{group} = {label!s}: too few cases to judge {parts}; at least "
            f"{options.min_group_size} are needed before a difference means more than chance."
        )
    return out


def _label(name: str) -> str:
    metric = METRICS_BY_NAME.get(name)
    return metric.label if metric else name

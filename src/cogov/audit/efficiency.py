"""Efficiency: how fast and how often cases are routed, answered and closed,
overall and by agent, service and period."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import polars as pl

from cogov.audit.errors import BadInput
from cogov.audit.frame import NOT_RECORDED
from cogov.audit.metrics import duration_summary, rate

Period = Literal["day", "week", "month", "quarter", "year"]
PERIODS: Final[dict[str, str]] = {
    "day": "1d",
    "week": "1w",
    "month": "1mo",
    "quarter": "1q",
    "year": "1y",
}


def efficiency_aggregations(empty: frozenset[str] = frozenset()) -> list[pl.Expr]:
    """Every efficiency measure as one Polars aggregation (see docs/audit.md).
    Measures over a column in ``empty`` (no case has it) are plain nulls: the
    same answer, without the work of aggregating nothing per group."""
    measures: list[tuple[str, list[pl.Expr]]] = [
        ("hours_to_route", duration_summary("hours_to_route", "hours_to_route")),
        (
            "hours_to_first_response",
            duration_summary("hours_to_first_response", "hours_to_first_response"),
        ),
        ("hours_to_close", duration_summary("hours_to_close", "hours_to_close")),
        ("closed_at", [pl.col("closed_at").is_null().mean().alias("open_share")]),
        ("on_time", [rate("on_time", "on_time_rate")]),
        ("is_duplicate", [rate("is_duplicate", "repeat_rate")]),
        ("handled_without_human", [rate("handled_without_human", "without_human_share")]),
        ("overridden", [rate("overridden", "override_rate")]),
        ("appealed", [rate("appealed", "appeal_rate")]),
        ("upheld_appeal", [rate("upheld_appeal", "upheld_appeal_rate")]),
        ("routed_correctly", [rate("routed_correctly", "routing_accuracy")]),
        (
            "draft_seconds",
            [
                pl.col("draft_seconds").median().alias("median_draft_seconds"),
                pl.col("draft_seconds").mean().alias("mean_draft_seconds"),
            ],
        ),
    ]
    out = [pl.len().alias("cases")]
    for column, expressions in measures:
        if column in empty and column != "closed_at":
            out += [pl.lit(None, dtype=pl.Float64).alias(e.meta.output_name()) for e in expressions]
        else:
            out += expressions
    out.append(pl.col("on_time").count().alias("on_time_judged"))
    return out


@dataclass(frozen=True)
class EfficiencyResult:
    """``overall``: one row. ``by``: dimension name -> one row per value
    (``agent``, ``service``, ``channel``, ``period`` where the data has them).
    ``routes``: per route, how often the AI's route matched the human's final one."""

    overall: pl.DataFrame
    by: dict[str, pl.DataFrame]
    period: str
    routes: pl.DataFrame


def routing_by_route(derived: pl.DataFrame) -> pl.DataFrame:
    """Routing per class (many classes): for each route, the cases a human finally
    sent there, the share of them the AI had proposed (recall), the cases the AI
    proposed for it, and the share of those that stayed there (precision)."""
    both = derived.filter(pl.col("routed_correctly").is_not_null())
    final = both.group_by(pl.col("final_route").alias("route")).agg(
        pl.len().alias("final_cases"),
        pl.col("routed_correctly").cast(pl.Float64).mean().alias("recall"),
    )
    proposed = both.group_by(pl.col("proposed_route").alias("route")).agg(
        pl.len().alias("proposed_cases"),
        pl.col("routed_correctly").cast(pl.Float64).mean().alias("precision"),
    )
    return (
        final.join(proposed, on="route", how="full", coalesce=True)
        .with_columns(pl.col("final_cases", "proposed_cases").fill_null(0))
        .sort(["final_cases", "route"], descending=[True, False])
    )


def efficiency(
    derived: pl.DataFrame,
    *,
    period: Period = "month",
    dimensions: tuple[str, ...] = ("agent", "service", "channel"),
) -> EfficiencyResult:
    """Efficiency measures of a derived case frame (:func:`cogov.audit.frame.derive`)."""
    if period not in PERIODS:
        raise BadInput("--period", f"{period!r} is not one of {sorted(PERIODS)}")
    empty = frozenset(
        name
        for name, nulls in derived.null_count().row(0, named=True).items()
        if nulls == derived.height
    )
    aggregations = efficiency_aggregations(empty)
    overall = derived.select(aggregations)
    by: dict[str, pl.DataFrame] = {}
    for dimension in dimensions:
        if derived.get_column(dimension).null_count() == derived.height:
            continue  # the source has no such column: no table, not one "(not recorded)" row
        by[dimension] = (
            derived.with_columns(pl.col(dimension).fill_null(NOT_RECORDED))
            .group_by(dimension)
            .agg(aggregations)
            .sort(["cases", dimension], descending=[True, False])
        )
    if derived.get_column("created_at").drop_nulls().len():
        by["period"] = (
            derived.drop_nulls("created_at")
            .with_columns(
                pl.col("created_at").dt.truncate(PERIODS[period]).dt.date().alias("period")
            )
            .group_by("period")
            .agg(aggregations)
            .sort("period")
        )
    return EfficiencyResult(overall, by, period, routing_by_route(derived))

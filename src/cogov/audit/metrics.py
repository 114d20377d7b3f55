"""The metrics every audit table shares, defined once.

A *rate* is the share of True among the cases where the column is known (nulls
are left out of numerator and denominator). A *quantile* is taken over the cases
where the duration is known, with linear interpolation (as numpy's default).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Literal

import polars as pl


class Better(IntEnum):
    """Which way is better for a metric; chooses the "best" reference group."""

    LOWER = -1
    NEUTRAL = 0
    HIGHER = 1


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # what a person reads
    kind: Literal["rate", "quantile"]
    column: str  # in the derived frame (cogov.audit.frame.derive)
    better: Better
    denominator: str  # "cases with ..." in plain words, for small-group warnings
    q: float = 0.5
    unit: str = ""

    def point(self) -> pl.Expr:
        """The metric as a Polars aggregation (null where no case has the column)."""
        if self.kind == "rate":
            return pl.col(self.column).cast(pl.Float64).mean().alias(self.name)
        return pl.col(self.column).quantile(self.q, interpolation="linear").alias(self.name)

    def known(self) -> pl.Expr:
        """How many cases the metric rests on."""
        return pl.col(self.column).count().alias(f"{self.name}__n")

    def successes(self) -> pl.Expr:
        return pl.col(self.column).cast(pl.Int64).sum().alias(f"{self.name}__k")


#: The per-group metrics of the fairness audit, in report order.
FAIRNESS_METRICS: Final = (
    Metric(
        "on_time_rate",
        "on-time rate",
        "rate",
        "on_time",
        Better.HIGHER,
        "cases judged on time or late",
    ),
    Metric(
        "median_hours_to_close",
        "median hours to close",
        "quantile",
        "hours_to_close",
        Better.LOWER,
        "closed cases",
        0.5,
        "h",
    ),
    Metric(
        "p90_hours_to_close",
        "90th percentile hours to close",
        "quantile",
        "hours_to_close",
        Better.LOWER,
        "closed cases",
        0.9,
        "h",
    ),
    Metric(
        "without_human_share",
        "share handled without a human",
        "rate",
        "handled_without_human",
        Better.NEUTRAL,
        "cases with the handling recorded",
    ),
    Metric(
        "override_rate",
        "human override rate",
        "rate",
        "overridden",
        Better.LOWER,
        "cases a human decided on",
    ),
    Metric(
        "appeal_rate",
        "appeal rate",
        "rate",
        "appealed",
        Better.LOWER,
        "cases that could be appealed",
    ),
    Metric(
        "upheld_appeal_rate",
        "upheld-appeal rate",
        "rate",
        "upheld_appeal",
        Better.LOWER,
        "cases that could be appealed",
    ),
    Metric(
        "routing_accuracy",
        "routing accuracy (AI route = human's final route)",
        "rate",
        "routed_correctly",
        Better.HIGHER,
        "cases with both an AI and a final route",
    ),
)

METRICS_BY_NAME: Final = {metric.name: metric for metric in FAIRNESS_METRICS}


def duration_summary(column: str, prefix: str) -> list[pl.Expr]:
    """Median, 90th percentile and mean of a duration in hours."""
    return [
        pl.col(column).median().alias(f"median_{prefix}"),
        pl.col(column).quantile(0.9, interpolation="linear").alias(f"p90_{prefix}"),
        pl.col(column).mean().alias(f"mean_{prefix}"),
    ]


def rate(column: str, name: str) -> pl.Expr:
    return pl.col(column).cast(pl.Float64).mean().alias(name)

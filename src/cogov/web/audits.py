"""Audit results as dashboards: the numbers of :mod:`cogov.audit` (a live audit, or
a published one read back from its ``audit.json``) turned into headline figures,
inline SVG charts and tables, in the reader's language.

Everything shown is computed by the audit package; this module only chooses,
labels and draws. It works on the report's plain-dict form so a live audit and a
published one are shown the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from cogov.web.charts import Bar, bar_chart, column_chart
from cogov.web.i18n import N_

Translate = Callable[..., str]

METRIC_LABELS = {
    "cases": N_("Requests"),
    "median_hours_to_route": N_("Median hours to route"),
    "median_hours_to_first_response": N_("Median hours to first response"),
    "median_hours_to_close": N_("Median hours to close"),
    "p90_hours_to_close": N_("90th percentile hours to close"),
    "on_time_rate": N_("Closed on time"),
    "open_share": N_("Still open"),
    "repeat_rate": N_("Repeat reports merged"),
    "without_human_share": N_("Handled without a person"),
    "override_rate": N_("AI suggestions overridden by people"),
    "appeal_rate": N_("Appealed"),
    "upheld_appeal_rate": N_("Appeals upheld"),
    "routing_accuracy": N_("Routing matched the final decision"),
    "median_draft_seconds": N_("Median seconds to draft a reply"),
}
HEADLINE = (
    "cases",
    "median_hours_to_route",
    "median_hours_to_close",
    "on_time_rate",
    "without_human_share",
    "override_rate",
    "appeal_rate",
    "upheld_appeal_rate",
)
GROUP_LABELS = {
    "channel": N_("Channel"),
    "assisted": N_("Entered by staff for the citizen"),
    "service": N_("Service"),
    "age_band": N_("Age band"),
    "needs_assistance": N_("Needs assistance"),
    "preferred_language": N_("Preferred language"),
    "district": N_("District"),
    "language": N_("Language of the request"),
}
RATE_SUFFIXES = ("_rate", "_share", "_accuracy")


def metric_label(name: str, gettext: Translate) -> str:
    label = METRIC_LABELS.get(name)
    return gettext(label) if label else name


def group_label(name: str, gettext: Translate) -> str:
    label = GROUP_LABELS.get(name)
    return gettext(label) if label else name


def is_rate(name: str) -> bool:
    return name.endswith(RATE_SUFFIXES)


def shown(name: str, value: Any, gettext: Translate) -> str:
    """A metric's value as a reader reads it: rates as percentages, hours to one decimal."""
    if value is None:
        return gettext("no data")
    if name == "cases" or isinstance(value, bool):
        return f"{value:,}" if isinstance(value, int) else str(value)
    number = float(value)
    if is_rate(name):
        return f"{number * 100:.0f}%"
    return f"{number:,.1f}"


@dataclass(frozen=True)
class Headline:
    label: str
    value: str


@dataclass(frozen=True)
class FairnessRow:
    group: str
    cases: int
    value: str
    interval: str
    disparity: str
    flagged: bool
    too_small: bool
    reference: bool


@dataclass(frozen=True)
class FairnessMetric:
    name: str
    label: str
    chart: Markup | None  # None when no group has a ratio to draw
    rows: list[FairnessRow]
    flagged: int


@dataclass(frozen=True)
class FairnessGroup:
    column: str
    label: str
    metrics: list[FairnessMetric]
    warnings: list[str]


@dataclass
class Dashboard:
    cases: int
    generated_at: str
    source: str
    headlines: list[Headline] = field(default_factory=list)
    period_chart: Markup | None = None
    period_rows: list[tuple[str, str, str]] = field(default_factory=list)
    channel_chart: Markup | None = None
    channel_rows: list[tuple[str, str]] = field(default_factory=list)
    fairness: list[FairnessGroup] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    band: tuple[float, float] = (0.8, 1.25)


def _fairness_metric(
    column: str, name: str, rows: Sequence[Mapping[str, Any]], band: tuple[float, float],
    gettext: Translate,
) -> FairnessMetric | None:  # fmt: skip
    if all(row.get("value") is None for row in rows):
        return None
    label = metric_label(name, gettext)
    shown_rows: list[FairnessRow] = []
    bars: list[Bar] = []
    for row in rows:
        disparity = row.get("disparity")
        low, high = row.get("ci_low"), row.get("ci_high")
        interval = (
            f"{shown(name, low, gettext)} – {shown(name, high, gettext)}"
            if low is not None and high is not None
            else ""
        )
        flagged = bool(row.get("flagged"))
        shown_rows.append(
            FairnessRow(
                group=str(row.get("group")),
                cases=int(row.get("cases") or 0),
                value=shown(name, row.get("value"), gettext),
                interval=interval,
                disparity=f"{disparity:.2f}" if disparity is not None else "",
                flagged=flagged,
                too_small=bool(row.get("too_small")),
                reference=row.get("group") == row.get("reference"),
            )
        )
        bars.append(
            Bar(
                label=str(row.get("group")),
                value=float(disparity) if disparity is not None else None,
                shown=f"{disparity:.2f}" if disparity is not None else gettext("no data"),
                flagged=flagged,
            )
        )
    drawable = any(bar.value is not None for bar in bars)
    chart = None if not drawable else bar_chart(
        bars,
        title=gettext("%(metric)s by %(group)s, relative to the reference group",
                      metric=label, group=group_label(column, gettext)),
        description=gettext(
            "Each bar is a group's value divided by the reference group's. The shaded band "
            "from %(low)s to %(high)s is treated as fair; bars outside it are marked with !.",
            low=band[0], high=band[1],
        ),
        band=band,
        reference=1.0,
    )  # fmt: skip
    return FairnessMetric(
        name=name,
        label=label,
        chart=chart,
        rows=shown_rows,
        flagged=sum(1 for row in shown_rows if row.flagged),
    )


def dashboard(data: Mapping[str, Any], gettext: Translate) -> Dashboard:
    """The dashboard of one audit report (``AuditReport.to_dict()`` or its audit.json)."""
    options = data.get("options") or {}
    band_values = options.get("disparity_band") or [0.8, 1.25]
    band = (float(band_values[0]), float(band_values[1]))
    efficiency = data.get("efficiency") or {}
    overall = efficiency.get("overall") or {}
    board = Dashboard(
        cases=int(data.get("cases") or 0),
        generated_at=str(data.get("generated_at") or ""),
        source=str(data.get("source") or ""),
        notes=[str(note) for note in data.get("notes") or []],
        band=band,
    )
    board.headlines = [
        Headline(metric_label(name, gettext), shown(name, overall.get(name), gettext))
        for name in HEADLINE
    ]
    by = efficiency.get("by") or {}
    periods = by.get("period") or []
    if periods:
        board.period_chart = column_chart(
            [
                Bar(str(row["period"])[:7], float(row["cases"]), f"{row['cases']:,}")
                for row in periods
            ],
            title=gettext("Requests received per period"),
            description=gettext("One column per period; its height is the number of requests."),
        )
        board.period_rows = [
            (
                str(row["period"])[:10],
                f"{row['cases']:,}",
                shown("median_hours_to_close", row.get("median_hours_to_close"), gettext),
            )
            for row in periods
        ]
    channels = by.get("channel") or []
    if channels:
        board.channel_chart = bar_chart(
            [
                Bar(str(row["channel"]), float(row["cases"]), f"{row['cases']:,}")
                for row in channels
            ],
            title=gettext("Requests by channel"),
            description=gettext("One bar per channel; its length is the number of requests."),
        )
        board.channel_rows = [(str(row["channel"]), f"{row['cases']:,}") for row in channels]
    for result in data.get("fairness") or []:
        column = str(result.get("group"))
        rows_by_metric: dict[str, list[Mapping[str, Any]]] = {}
        for row in result.get("rows") or []:
            rows_by_metric.setdefault(str(row.get("metric")), []).append(row)
        metrics = [
            metric
            for name, rows in rows_by_metric.items()
            if (metric := _fairness_metric(column, name, rows, band, gettext)) is not None
        ]
        board.fairness.append(
            FairnessGroup(
                column=column,
                label=group_label(column, gettext),
                metrics=metrics,
                warnings=[str(warning) for warning in result.get("warnings") or []],
            )
        )
    return board

"""Pure rules of dynamic autonomy: what each level lets an agent do, the metrics
the controller computes over an agent's recent decisions, and the decision it
takes from them. Plain values in and out, so they are property-tested without a
database.

The controller only ever LOWERS a level. Raising needs the guardian's sign-off
(``cogov.control.autonomy.service.raise_level``) and is never decided here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

MIN_LEVEL = 0
MAX_LEVEL = 3


class AutonomyLevel(IntEnum):
    """How far an agent may act without a human (the grade caps it)."""

    SUGGEST = 0  # suggests only: a human decides every proposal
    ASSIST = 1  # acts alone only where nothing changes for the citizen, above threshold
    SUPERVISED = 2  # acts alone above its confidence threshold; a share is sampled
    AUTONOMOUS = 3  # acts alone within its rules (the negative list still applies)

    @property
    def description(self) -> str:
        return LEVEL_DESCRIPTIONS[self][0]

    @property
    def description_zh(self) -> str:
        return LEVEL_DESCRIPTIONS[self][1]


LEVEL_DESCRIPTIONS: Mapping[AutonomyLevel, tuple[str, str]] = {
    AutonomyLevel.SUGGEST: (
        "suggest only: a human decides every proposal",
        "仅提供建议：每项提议均由人工决定",
    ),
    AutonomyLevel.ASSIST: (
        "assist: acts alone, above its confidence threshold, only on steps that change "
        "nothing for the citizen (priority, category); a human approves the rest",
        "辅助：仅对不影响市民的步骤（优先级、分类）在置信度达标时自行处理，其余由人工批准",
    ),
    AutonomyLevel.SUPERVISED: (
        "supervised: acts alone above its confidence threshold; a share of its "
        "decisions is sampled for human review",
        "受监督：置信度达标时自行处理，部分决定抽样交人工复核",
    ),
    AutonomyLevel.AUTONOMOUS: (
        "autonomous: acts alone above its confidence threshold within its rules; the "
        "negative list still sends what it forbids to a human",
        "自主：在规则范围内、置信度达标时自行处理；负面清单禁止的事项仍交人工",
    ),
}


def clamp_level(level: int) -> AutonomyLevel:
    return AutonomyLevel(min(MAX_LEVEL, max(MIN_LEVEL, int(level))))


def effective_level(stored: int, ceiling: int) -> int:
    """The level in force: the stored level, never above the grade's ceiling."""
    return int(clamp_level(min(stored, ceiling)))


@dataclass(frozen=True, slots=True)
class Observation:
    """One decision an agent took part in (one proposal), as the controller sees it."""

    proposal_id: str
    at: datetime
    # Applied by the agent alone, with no human before it took effect.
    handled_without_human: bool
    # A human decided it (approved, edited or rejected).
    reviewed: bool
    # The human changed or refused it (edited or rejected).
    overridden: bool
    # A negative-list rule spoke against it (denied, or sent it to a human).
    rule_hit: bool
    # An appeal about it was upheld: the decision was wrong.
    appeal_upheld: bool = False
    # Group attributes recorded at intake (e.g. {"age_band": "65+"}), values as text.
    groups: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What the controller tolerates; see the ``autonomy_*`` settings."""

    window_decisions: int = 500
    window_days: float = 30.0
    min_decisions: int = 30
    min_reviewed: int = 20
    max_override_rate: float = 0.15
    max_upheld_appeal_rate: float = 0.02
    max_negative_list_rate: float = 0.10
    max_group_gap: float = 0.20
    min_group_size: int = 20

    def __post_init__(self) -> None:
        for name in ("window_decisions", "min_decisions", "min_reviewed", "min_group_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1")
        if self.window_days <= 0:
            raise ValueError("window_days: must be more than 0")
        for name in (
            "max_override_rate",
            "max_upheld_appeal_rate",
            "max_negative_list_rate",
            "max_group_gap",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name}: must be between 0 and 1")


@dataclass(frozen=True, slots=True)
class GroupGap:
    attribute: str
    gap: float
    # Share handled without a human per group value (groups large enough to judge).
    shares: Mapping[str, float]
    counts: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Metrics:
    decisions: int
    reviewed: int
    overridden: int
    upheld_appeals: int
    rule_hits: int
    override_rate: float | None
    upheld_appeal_rate: float | None
    negative_list_rate: float | None
    group_gap: GroupGap | None
    window_start: datetime | None
    window_end: datetime | None

    def as_payload(self) -> dict[str, Any]:
        """The numbers, as a ledger payload or JSON output (rates rounded to 4 places)."""
        gap = self.group_gap
        return {
            "decisions": self.decisions,
            "reviewed": self.reviewed,
            "overridden": self.overridden,
            "upheld_appeals": self.upheld_appeals,
            "rule_hits": self.rule_hits,
            "override_rate": _round(self.override_rate),
            "upheld_appeal_rate": _round(self.upheld_appeal_rate),
            "negative_list_rate": _round(self.negative_list_rate),
            "group_gap": None
            if gap is None
            else {
                "attribute": gap.attribute,
                "gap": _round(gap.gap),
                "shares": {key: _round(value) for key, value in sorted(gap.shares.items())},
                "counts": dict(sorted(gap.counts.items())),
            },
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass(frozen=True, slots=True)
class Breach:
    metric: str
    value: float
    threshold: float

    @property
    def steps(self) -> int:
        """Levels to drop for this breach: one, two when the value is past twice the limit."""
        return 2 if self.value > 2 * self.threshold else 1

    def as_payload(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "value": round(self.value, 4),
            "threshold": self.threshold,
            "steps": self.steps,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """What the controller decided: the level to hold (never above ``current``)."""

    current: int
    target: int
    breaches: tuple[Breach, ...]
    metrics: Metrics

    @property
    def lowers(self) -> bool:
        return self.target < self.current


def select_window(
    observations: Iterable[Observation],
    *,
    now: datetime,
    since: datetime | None,
    thresholds: Thresholds,
) -> list[Observation]:
    """The rolling window: the latest ``window_decisions`` decisions within
    ``window_days`` of ``now`` and after ``since`` (the last level change, so each
    level is judged only on the decisions taken at that level)."""
    start = now - timedelta(days=thresholds.window_days)
    # Strictly after the change: the decisions that caused it never count again.
    recent = [
        item
        for item in observations
        if start <= item.at <= now and (since is None or item.at > since)
    ]
    recent.sort(key=lambda item: (item.at, item.proposal_id), reverse=True)
    return recent[: thresholds.window_decisions]


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """What the controller counts over a window: every metric derives from these, so
    the counts can come from the observations (:func:`count_window`) or straight from
    the database (an aggregate query) and give the same decision."""

    decisions: int = 0
    reviewed: int = 0
    # Reviewed and edited or rejected by the human.
    overridden: int = 0
    upheld_appeals: int = 0
    rule_hits: int = 0
    # attribute -> value -> (decisions, handled without a human), leaving out the
    # decisions a negative-list rule sent to a human.
    groups: Mapping[str, Mapping[str, tuple[int, int]]] = field(default_factory=dict)
    window_start: datetime | None = None
    window_end: datetime | None = None
    # Applied by the agent alone (the public register's share; no threshold reads it).
    handled_without_human: int = 0


def count_window(window: Iterable[Observation]) -> WindowCounts:
    decisions = reviewed = overridden = upheld = rule_hits = applied = 0
    groups: dict[str, dict[str, tuple[int, int]]] = {}
    first: datetime | None = None
    last: datetime | None = None
    for item in window:
        decisions += 1
        applied += item.handled_without_human
        reviewed += item.reviewed
        overridden += item.overridden and item.reviewed
        upheld += item.appeal_upheld
        rule_hits += item.rule_hit
        first = item.at if first is None or item.at < first else first
        last = item.at if last is None or item.at > last else last
        if item.rule_hit:
            continue
        for attribute, value in item.groups.items():
            seen, handled = groups.setdefault(attribute, {}).get(value, (0, 0))
            groups[attribute][value] = (seen + 1, handled + int(item.handled_without_human))
    return WindowCounts(
        decisions, reviewed, overridden, upheld, rule_hits, groups, first, last, applied
    )


def group_gap(observations: Sequence[Observation], *, min_group_size: int) -> GroupGap | None:
    """The widest gap, over every recorded group attribute, between groups' shares
    of decisions handled without a human. Decisions a negative-list rule sent to a
    human are left out: the rule decided those, not the agent's confidence or level.
    Groups smaller than ``min_group_size`` are too small to judge and are skipped."""
    return widest_gap(count_window(observations).groups, min_group_size=min_group_size)


def widest_gap(
    groups: Mapping[str, Mapping[str, tuple[int, int]]], *, min_group_size: int
) -> GroupGap | None:
    """:func:`group_gap` from counts per attribute and value (decisions, handled)."""
    widest: GroupGap | None = None
    for attribute in sorted(groups):
        sized = {value: t for value, t in groups[attribute].items() if t[0] >= min_group_size}
        if len(sized) < 2:
            continue
        shares = {value: t[1] / t[0] for value, t in sized.items()}
        gap = max(shares.values()) - min(shares.values())
        if widest is None or gap > widest.gap:
            widest = GroupGap(
                attribute=attribute,
                gap=gap,
                shares=shares,
                counts={value: t[0] for value, t in sized.items()},
            )
    return widest


def compute_metrics(window: Sequence[Observation], *, thresholds: Thresholds) -> Metrics:
    """The controller's numbers over one window. A rate is None while there are too
    few decisions to judge it (``min_decisions``; ``min_reviewed`` for overrides)."""
    return metrics_from_counts(count_window(window), thresholds=thresholds)


def metrics_from_counts(counts: WindowCounts, *, thresholds: Thresholds) -> Metrics:
    decisions, reviewed = counts.decisions, counts.reviewed
    enough = decisions >= thresholds.min_decisions
    return Metrics(
        decisions=decisions,
        reviewed=reviewed,
        overridden=counts.overridden,
        upheld_appeals=counts.upheld_appeals,
        rule_hits=counts.rule_hits,
        override_rate=counts.overridden / reviewed if reviewed >= thresholds.min_reviewed else None,
        upheld_appeal_rate=counts.upheld_appeals / decisions if enough else None,
        negative_list_rate=counts.rule_hits / decisions if enough else None,
        group_gap=widest_gap(counts.groups, min_group_size=thresholds.min_group_size),
        window_start=counts.window_start,
        window_end=counts.window_end,
    )


def find_breaches(metrics: Metrics, *, thresholds: Thresholds) -> tuple[Breach, ...]:
    """Every metric past its limit (strictly above it)."""
    checks: list[tuple[str, float | None, float]] = [
        ("override_rate", metrics.override_rate, thresholds.max_override_rate),
        ("upheld_appeal_rate", metrics.upheld_appeal_rate, thresholds.max_upheld_appeal_rate),
        ("negative_list_rate", metrics.negative_list_rate, thresholds.max_negative_list_rate),
        (
            "group_gap",
            None if metrics.group_gap is None else metrics.group_gap.gap,
            thresholds.max_group_gap,
        ),
    ]
    return tuple(
        Breach(metric=name, value=value, threshold=limit)
        for name, value, limit in checks
        if value is not None and value > limit
    )


def decide(
    *,
    current: int,
    ceiling: int,
    observations: Iterable[Observation],
    now: datetime,
    since: datetime | None,
    thresholds: Thresholds,
) -> Decision:
    """The controller: compute the window's metrics and lower the level by the
    steps its breaches call for (never below 0). It never raises: the target is at
    most the current level, and at most the grade's ceiling."""
    window = select_window(observations, now=now, since=since, thresholds=thresholds)
    counts = count_window(window)
    return decide_on_counts(current=current, ceiling=ceiling, counts=counts, thresholds=thresholds)


def decide_on_counts(
    *, current: int, ceiling: int, counts: WindowCounts, thresholds: Thresholds
) -> Decision:
    """:func:`decide` from a window's counts (however they were counted)."""
    metrics = metrics_from_counts(counts, thresholds=thresholds)
    breaches = find_breaches(metrics, thresholds=thresholds)
    held = effective_level(current, ceiling)
    target = max(MIN_LEVEL, held - sum(breach.steps for breach in breaches))
    return Decision(current=clamp_level(current), target=target, breaches=breaches, metrics=metrics)


def check_raise(*, current: int, to_level: int, ceiling: int) -> str | None:
    """Why a raise to ``to_level`` is refused, or None when the step itself is allowed
    (who signs it off is checked by the service)."""
    if not MIN_LEVEL <= to_level <= MAX_LEVEL:
        return f"must be a level from {MIN_LEVEL} to {MAX_LEVEL}"
    if to_level <= current:
        return f"is not above the current level {current} (the controller lowers levels)"
    if to_level > ceiling:
        return f"is above the grade's ceiling {ceiling}"
    return None

"""What the public may know of an agent's autonomy now, for the transparency register:
the level in force and its grade's ceiling, the last change (by the controller, by a
person, or raised with the guardian's sign-off, with the breaches that caused a
controller's lowering), and the measures of the window the controller judges now.

The window is the one the controller judges, read by the same
:func:`service.judged_window` (``window_days`` back, never before the last level
change; the latest ``window_decisions`` proposals; :func:`service.judged_windows` reads
every agent's at once with the same query parts and counting), and its rates come from
the same :func:`rules.metrics_from_counts`: the register never counts a second way. Read only:
nothing is written, no row is locked.

Aggregates only, and only where the controller itself would judge them: a count or
rate is None while the window holds too few proposals (``min_decisions``; overrides
need ``min_reviewed`` human decisions), and a group gap is shown only between groups
of at least ``min_group_size``. Nothing names a citizen, a case or a staff member.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from cogov.control.autonomy.rules import Thresholds, WindowCounts, metrics_from_counts
from cogov.control.autonomy.schemas import AutonomyChangeRead, AutonomyPolicy, AutonomyRead
from cogov.control.autonomy.service import (
    CONTROLLER,
    autonomy_of,
    default_policy,
    get_autonomy,
    judged_window,
    judged_windows,
)
from cogov.core.clock import Clock, SystemClock, iso_utc
from cogov.registry import PublicRegisterEntry, obligations_for, public_register

_SYSTEM_CLOCK = SystemClock()


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Breach(_Frozen):
    """One measure past its threshold when the controller lowered the level."""

    metric: Literal["override_rate", "upheld_appeal_rate", "negative_list_rate", "group_gap"]
    value: float = Field(description="The measure's value in the window that was judged.")
    threshold: float = Field(description="The highest value the controller tolerates.")


class LastChange(_Frozen):
    """The agent's last autonomy change (an ``autonomy.changed`` ledger entry)."""

    changed_at: str
    from_level: int | None
    to_level: int
    direction: Literal["lowered", "raised"]
    by: Literal["controller", "person", "guardian"] = Field(
        description="controller: lowered at once on its measures; person: lowered by hand "
        "by its guardian, backup guardian or an administrator; guardian: raised with the "
        "guardian's sign-off. People are not named."
    )
    breaches: list[Breach] = Field(
        default_factory=list, description="What made the controller lower it (else empty)."
    )


class GroupGap(_Frozen):
    """The widest gap between groups' shares of proposals applied without a person,
    over groups of at least ``min_group_size`` proposals each."""

    attribute: str
    gap: float
    shares: dict[str, float]
    counts: dict[str, int]


class WindowMeasures(_Frozen):
    """The controller's measures over the window it judges now."""

    since: str = Field(description="Where the window starts (its days back, or the last change).")
    until: str = Field(description="When it was counted.")
    proposals: int = Field(description="Proposals the agent made in the window.")
    enough: bool = Field(description="At least min_proposals: the rates are judged.")
    applied_without_person: int | None
    applied_share: float | None
    reviewed: int | None = Field(description="Proposals a person decided.")
    overridden: int | None = Field(description="Of those, changed or rejected by the person.")
    override_rate: float | None
    upheld_appeals: int | None
    upheld_appeal_rate: float | None
    negative_list_hits: int | None
    negative_list_rate: float | None
    group_gap: GroupGap | None


class Limits(_Frozen):
    """The controller's thresholds in force (the ``autonomy_*`` settings)."""

    window_days: float
    window_proposals: int
    min_proposals: int
    min_reviewed: int
    min_group_size: int
    max_override_rate: float
    max_upheld_appeal_rate: float
    max_negative_list_rate: float
    max_group_gap: float


class AutonomyStanding(_Frozen):
    """An agent's autonomy now, as the public register shows it."""

    agent_id: str
    level: int = Field(description="The level in force (0-3): held, capped by the grade.")
    ceiling: int = Field(description="The grade's highest level.")
    last_change: LastChange | None
    window: WindowMeasures
    limits: Limits


class RegisterEntryWithAutonomy(PublicRegisterEntry):
    """A public register entry (the filing's tier-1 facts) with its autonomy now."""

    autonomy: AutonomyStanding


def register_with_autonomy(
    session: Session,
    *,
    policy: AutonomyPolicy | None = None,
    clock: Clock | None = None,
    agent_id: str | None = None,
) -> list[RegisterEntryWithAutonomy]:
    """The public register (every active agent, or only ``agent_id`` when it is
    active) with each agent's autonomy standing, all counted at one moment.

    Every agent is read at once, so an anonymous visitor costs a fixed number of
    queries however many agents there are (the register's, two for the levels and
    their last changes, one for the windows); each standing equals what
    :func:`public_standing` reads for that agent alone."""
    policy = policy or default_policy()
    now = (clock or _SYSTEM_CLOCK).now()
    entries = public_register(session, agent_id=agent_id)
    # An active agent's ceiling is its active filing's (the grade the entry shows).
    ceilings = {entry.agent_id: obligations_for(entry.grade).max_autonomy_level
                for entry in entries}  # fmt: skip
    autonomy = autonomy_of(session, ceilings=ceilings, policy=policy)
    windows = judged_windows(
        session,
        changed_at={agent: read.changed_at for agent, read in autonomy.items()},
        policy=policy,
        now=now,
    )
    return [
        RegisterEntryWithAutonomy(
            **dict(entry),
            autonomy=_standing(autonomy[entry.agent_id], *windows[entry.agent_id], policy, now),
        )
        for entry in entries
    ]


def public_standing(
    session: Session,
    *,
    agent_id: str,
    policy: AutonomyPolicy | None = None,
    clock: Clock | None = None,
) -> AutonomyStanding:
    """``agent_id``'s autonomy standing now (read only)."""
    return _standing_at(
        session, agent_id, policy or default_policy(), (clock or _SYSTEM_CLOCK).now()
    )


def _standing_at(
    session: Session, agent_id: str, policy: AutonomyPolicy, now: datetime
) -> AutonomyStanding:
    autonomy = get_autonomy(session, agent_id=agent_id, policy=policy, history=1)
    counts, start = judged_window(
        session, agent_id=agent_id, changed_at=autonomy.changed_at, policy=policy, now=now
    )
    return _standing(autonomy, counts, start, policy, now)


def _standing(
    autonomy: AutonomyRead, counts: WindowCounts, start: str, policy: AutonomyPolicy, now: datetime
) -> AutonomyStanding:
    """The standing from the agent's autonomy (with its latest change) and the counts
    of the window the controller judges, starting at ``start``."""
    limits = policy.thresholds
    metrics = metrics_from_counts(counts, thresholds=limits)
    enough = metrics.decisions >= limits.min_decisions
    judged_overrides = metrics.override_rate is not None
    gap = metrics.group_gap
    return AutonomyStanding(
        agent_id=autonomy.agent_id,
        level=autonomy.effective,
        ceiling=autonomy.ceiling,
        last_change=_last_change(autonomy.history[0]) if autonomy.history else None,
        window=WindowMeasures(
            since=start,
            until=iso_utc(now),
            proposals=metrics.decisions,
            enough=enough,
            applied_without_person=counts.handled_without_human if enough else None,
            applied_share=_rate(counts.handled_without_human, metrics.decisions)
            if enough
            else None,
            reviewed=metrics.reviewed if judged_overrides else None,
            overridden=metrics.overridden if judged_overrides else None,
            override_rate=_round(metrics.override_rate),
            upheld_appeals=metrics.upheld_appeals if enough else None,
            upheld_appeal_rate=_round(metrics.upheld_appeal_rate),
            negative_list_hits=metrics.rule_hits if enough else None,
            negative_list_rate=_round(metrics.negative_list_rate),
            group_gap=None
            if gap is None
            else GroupGap(
                attribute=gap.attribute,
                gap=round(gap.gap, 4),
                shares={key: round(value, 4) for key, value in sorted(gap.shares.items())},
                counts=dict(sorted(gap.counts.items())),
            ),
        ),
        limits=_limits(limits),
    )


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _limits(limits: Thresholds) -> Limits:
    return Limits(
        window_days=limits.window_days,
        window_proposals=limits.window_decisions,
        min_proposals=limits.min_decisions,
        min_reviewed=limits.min_reviewed,
        min_group_size=limits.min_group_size,
        max_override_rate=limits.max_override_rate,
        max_upheld_appeal_rate=limits.max_upheld_appeal_rate,
        max_negative_list_rate=limits.max_negative_list_rate,
        max_group_gap=limits.max_group_gap,
    )


def _last_change(change: AutonomyChangeRead) -> LastChange:
    """The change's public facts: what kind of actor made it, and for the controller's lowering
    the breaches it recorded. A person's own words (``reason``) are not published: they
    are written for the ledger's readers and may name staff or a case."""
    if change.direction == "raised":
        by: Literal["controller", "person", "guardian"] = "guardian"
    elif change.changed_by == CONTROLLER:
        by = "controller"
    else:
        by = "person"
    return LastChange(
        changed_at=change.changed_at,
        from_level=change.from_level,
        to_level=change.to_level,
        direction="raised" if change.direction == "raised" else "lowered",
        by=by,
        breaches=[_breach(item) for item in change.evidence.get("breaches", [])]
        if by == "controller"
        else [],
    )


def _breach(recorded: Mapping[str, Any]) -> Breach:
    return Breach(
        metric=recorded["metric"],
        value=float(recorded["value"]),
        threshold=float(recorded["threshold"]),
    )

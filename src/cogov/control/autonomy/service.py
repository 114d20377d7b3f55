"""Use cases of dynamic autonomy. Keyword-only, take a session, never commit.

``current_level`` is what routing reads for every proposal. ``evaluate`` is the
controller: it lowers a level at once when an agent's recent decisions breach a
threshold (review calls it after each human decision and each upheld appeal; the
pipeline may call it after a negative-list hit; ``cogov autonomy evaluate`` runs it
for every agent). ``raise_level`` is the only way up, and only the agent's guardian
on duty can sign it off. ``lower_level`` lets the people who answer for an agent
tighten it by hand at once.
"""

from __future__ import annotations

import functools
import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cogov.control.autonomy import repository
from cogov.control.autonomy.errors import (
    InvalidAutonomyInput,
    LowerRefused,
    NotTheGuardian,
    RaiseRefused,
)
from cogov.control.autonomy.models import AgentAutonomy, AutonomyChange
from cogov.control.autonomy.repository import ProposalOutcome
from cogov.control.autonomy.rules import (
    MAX_LEVEL,
    Decision,
    Observation,
    WindowCounts,
    check_raise,
    clamp_level,
    decide_on_counts,
    effective_level,
)
from cogov.control.autonomy.schemas import (
    AutonomyChangeRead,
    AutonomyPolicy,
    AutonomyRead,
    Evaluation,
)
from cogov.core.canonical import canonical_json
from cogov.core.clock import Clock, SystemClock, iso_utc
from cogov.core.ids import new_id
from cogov.core.settings import load_settings
from cogov.core.text import control_character_problem
from cogov.core.types import Role
from cogov.identity import has_role, require_active_user
from cogov.intake import list_cases
from cogov.ledger import Responsible, append
from cogov.registry import AgentNotFound, get_agent, get_filing
from cogov.review import repository as review_repository

CONTROLLER = "system:autonomy"
_SYSTEM_CLOCK = SystemClock()
_DEFAULT_POLICY: list[AutonomyPolicy] = []


def default_policy() -> AutonomyPolicy:
    """The policy from the settings (environment / .env), read once."""
    if not _DEFAULT_POLICY:
        _DEFAULT_POLICY.append(AutonomyPolicy.from_settings(load_settings()))
    return _DEFAULT_POLICY[0]


@dataclass(frozen=True, slots=True)
class _Oversight:
    """What the registry says about an agent: its guardians and its grade's ceiling."""

    guardian: str | None
    backup_guardian: str | None
    ceiling: int


def _oversight(session: Session, agent_id: str) -> _Oversight:
    """An agent not in the registry, or with no active version, may not act at all:
    its ceiling is 0 (suggest only)."""
    try:
        agent = get_agent(session, agent_id=agent_id)
    except AgentNotFound:
        return _Oversight(None, None, 0)
    if agent.active_version is None:
        ceiling = 0
    elif agent.active_version == agent.latest.version:
        ceiling = agent.latest.obligations.max_autonomy_level
    else:
        filing = get_filing(session, agent_id=agent_id, version=agent.active_version)
        ceiling = filing.obligations.max_autonomy_level
    return _Oversight(agent.guardian, agent.backup_guardian, ceiling)


def current_level(session: Session, agent_id: str, *, ceiling: int | None = None) -> int:
    """The autonomy level in force for ``agent_id`` (0-3): the level it holds (the
    initial level from the settings when never set), capped by its grade's
    ``max_autonomy_level``. Pass ``ceiling`` when the caller already has it from the
    registry's gate, to save the registry lookup."""
    stored = repository.level_of(session, agent_id)
    held = default_policy().initial_level if stored is None else stored
    cap = _oversight(session, agent_id).ceiling if ceiling is None else ceiling
    return effective_level(held, cap)


def get_autonomy(
    session: Session, *, agent_id: str, policy: AutonomyPolicy | None = None, history: int = 20
) -> AutonomyRead:
    """An agent's autonomy now, with its latest changes (newest first)."""
    policy = policy or default_policy()
    row = repository.get(session, agent_id)
    ceiling = _oversight(session, agent_id).ceiling
    changes = repository.changes(session, agent_id, limit=history)
    return _autonomy_read(agent_id, row, ceiling=ceiling, policy=policy, changes=changes)


def autonomy_of(
    session: Session, *, ceilings: Mapping[str, int], policy: AutonomyPolicy | None = None
) -> dict[str, AutonomyRead]:
    """:func:`get_autonomy` with its latest change only, for every agent of ``ceilings``
    at once (two queries however many): the caller gives each agent's grade ceiling,
    read from the registry with the agents (an active agent's ceiling is its active
    filing's ``max_autonomy_level``, as :func:`get_autonomy` reads it)."""
    policy = policy or default_policy()
    agent_ids = list(ceilings)
    rows = repository.get_many(session, agent_ids)
    latest = repository.latest_changes(session, agent_ids)
    return {
        agent_id: _autonomy_read(
            agent_id,
            rows.get(agent_id),
            ceiling=ceiling,
            policy=policy,
            changes=[latest[agent_id]] if agent_id in latest else [],
        )
        for agent_id, ceiling in ceilings.items()
    }


def _autonomy_read(
    agent_id: str,
    row: AgentAutonomy | None,
    *,
    ceiling: int,
    policy: AutonomyPolicy,
    changes: Sequence[AutonomyChange],
) -> AutonomyRead:
    held = policy.initial_level if row is None else row.level
    return AutonomyRead(
        agent_id=agent_id,
        level=held,
        ceiling=ceiling,
        effective=effective_level(held, ceiling),
        changed_at=None if row is None else row.changed_at,
        changed_by=None if row is None else row.changed_by,
        evaluated_at=None if row is None else row.evaluated_at,
        last_metrics=None
        if row is None or row.last_metrics is None
        else json.loads(row.last_metrics),
        history=tuple(_change_read(c) for c in changes),
    )


def _change_read(row: AutonomyChange) -> AutonomyChangeRead:
    return AutonomyChangeRead(
        agent_id=row.agent_id,
        from_level=row.from_level,
        to_level=row.to_level,
        direction=row.direction,
        changed_by=row.changed_by,
        reason=row.reason,
        evidence=json.loads(row.evidence),
        changed_at=row.changed_at,
    )


# Group attributes of cases, by case id. A case row is written once and never
# changed (intake), so what was read stays true; bounded so a long-running worker
# does not grow without end.
_GROUPS: OrderedDict[str, dict[str, str]] = OrderedDict()
_GROUPS_MAX = 50_000


def _case_groups(session: Session, case_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    missing = [case_id for case_id in case_ids if case_id not in _GROUPS]
    for case in list_cases(session, ids=missing, limit=len(missing)) if missing else []:
        _GROUPS[case.id] = {
            key: _group_value(value) for key, value in case.group_attributes.items()
        }
        if len(_GROUPS) > _GROUPS_MAX:
            _GROUPS.popitem(last=False)
    return {case_id: _GROUPS.get(case_id, {}) for case_id in case_ids}


def observations(session: Session, *, agent_id: str, since: str, limit: int) -> list[Observation]:
    """The agent's recent decisions as the controller sees them: what happened to
    each proposal, whether a rule spoke against it, whether an appeal about it was
    upheld, and the group attributes of its case."""
    rows = repository.recent_proposals(session, agent_id, since=since, limit=limit)
    if not rows:
        return []
    groups = _case_groups(session, sorted({row.case_id for row in rows}))
    upheld = review_repository.upheld_proposal_ids(session, [row.id for row in rows])
    return [_observation(row, groups[row.case_id], row.id in upheld) for row in rows]


def _group_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _observation(row: ProposalOutcome, groups: dict[str, str], upheld: bool) -> Observation:
    rule_hit = row.verdict_by.startswith("rule:") or (
        '"rule:' in row.reasons
        and any(str(entry.get("ref", "")).startswith("rule:") for entry in json.loads(row.reasons))
    )
    return Observation(
        proposal_id=row.id,
        at=datetime.fromisoformat(row.created_at),
        handled_without_human=row.state == "applied",
        reviewed=row.state == "decided",
        overridden=row.outcome in ("edited", "rejected"),
        rule_hit=rule_hit,
        appeal_upheld=upheld,
        groups=groups,
    )


def window_counts(
    session: Session, *, agent_id: str, start: str, since: str | None, now: str, limit: int
) -> WindowCounts:
    """The controller's window counted by one aggregate query (nothing of the window
    is loaded): the agent's latest ``limit`` proposals made in [``start``, ``now``] and
    after ``since``. Equal to :func:`count_window` over the same window's observations
    (a property test checks it)."""
    tallies = repository.window_tallies(
        session, agent_id, start=start, since=since, now=now, limit=limit
    )
    return _counts(tallies)


def _counts(tallies: Sequence[repository.WindowTally]) -> WindowCounts:
    """One window's counts from the database's aggregate rows."""
    decisions = reviewed = overridden = upheld = rule_hits = applied = 0
    groups: dict[str, dict[str, tuple[int, int]]] = {}
    first: str | None = None
    last: str | None = None
    for tally in tallies:
        n = tally.count
        decisions += n
        applied += n * tally.handled_without_human
        reviewed += n * tally.reviewed
        overridden += n * tally.overridden
        upheld += n * tally.appeal_upheld
        rule_hits += n * tally.rule_hit
        first = tally.first_at if first is None or tally.first_at < first else first
        last = tally.last_at if last is None or tally.last_at > last else last
        if tally.rule_hit:
            continue
        for attribute, value in _parsed_groups(tally.group_attributes):
            seen, handled = groups.setdefault(attribute, {}).get(value, (0, 0))
            groups[attribute][value] = (seen + n, handled + n * tally.handled_without_human)
    return WindowCounts(
        decisions=decisions,
        reviewed=reviewed,
        overridden=overridden,
        upheld_appeals=upheld,
        rule_hits=rule_hits,
        groups=groups,
        window_start=None if first is None else datetime.fromisoformat(first),
        window_end=None if last is None else datetime.fromisoformat(last),
        handled_without_human=applied,
    )


@functools.lru_cache(maxsize=4096)
def _parsed_groups(group_attributes: str | None) -> tuple[tuple[str, str], ...]:
    """A case's recorded group attributes (canonical JSON) as (attribute, value) text."""
    if group_attributes is None:  # no case row (never expected: a foreign key)
        return ()
    parsed = json.loads(group_attributes)
    return tuple((str(key), _group_value(value)) for key, value in parsed.items())


def judged_window(
    session: Session,
    *,
    agent_id: str,
    changed_at: str | None,
    policy: AutonomyPolicy,
    now: datetime,
) -> tuple[WindowCounts, str]:
    """The counts of the window the controller judges at ``now``, and where it starts:
    ``window_days`` back, but never before the level last changed (``changed_at``), so
    each level is judged on the proposals made at it; at most the latest
    ``window_decisions`` proposals. The controller and the public register
    (:mod:`.standing`) both read the window here."""
    start = _window_start(policy, now)
    counts = window_counts(
        session,
        agent_id=agent_id,
        start=start,
        since=changed_at,
        now=iso_utc(now),
        limit=policy.thresholds.window_decisions,
    )
    return counts, _since(changed_at, start)


def judged_windows(
    session: Session,
    *,
    changed_at: Mapping[str, str | None],
    policy: AutonomyPolicy,
    now: datetime,
) -> dict[str, tuple[WindowCounts, str]]:
    """:func:`judged_window` for every agent of ``changed_at`` (each agent's last level
    change) at once: a fixed number of queries however many agents, the same counts."""
    start = _window_start(policy, now)
    tallies = repository.windows_tallies(
        session, changed_at, start=start, now=iso_utc(now), limit=policy.thresholds.window_decisions
    )
    return {
        agent_id: (_counts(tallies[agent_id]), _since(changed, start))
        for agent_id, changed in changed_at.items()
    }


def _window_start(policy: AutonomyPolicy, now: datetime) -> str:
    return iso_utc(now - timedelta(days=policy.thresholds.window_days))


def _since(changed_at: str | None, start: str) -> str:
    """Where the judged window starts: ``window_days`` back or the last change."""
    return changed_at if changed_at is not None and changed_at > start else start


def _judge(
    session: Session,
    row: AgentAutonomy,
    *,
    current: int,
    ceiling: int,
    policy: AutonomyPolicy,
    now: datetime,
) -> tuple[Decision, str]:
    """The controller's decision over the agent's window, and where the window starts."""
    counts, start = judged_window(
        session, agent_id=row.agent_id, changed_at=row.changed_at, policy=policy, now=now
    )
    decision = decide_on_counts(
        current=current, ceiling=ceiling, counts=counts, thresholds=policy.thresholds
    )
    return decision, start


def evaluate(
    session: Session,
    *,
    agent_id: str,
    policy: AutonomyPolicy | None = None,
    clock: Clock | None = None,
) -> Evaluation:
    """Run the controller for one agent: compute its window's numbers and, past a
    threshold, lower its level at once (``autonomy.changed`` in the ledger with the
    numbers that caused it). Never raises a level."""
    policy = policy or default_policy()
    now = (clock or _SYSTEM_CLOCK).now()
    now_text = iso_utc(now)
    row = repository.lock_or_create(session, agent_id, level=policy.initial_level)
    oversight = _oversight(session, agent_id)
    decision, start = _judge(
        session, row, current=row.level, ceiling=oversight.ceiling, policy=policy, now=now
    )
    metrics = decision.metrics.as_payload()
    breaches = tuple(breach.as_payload() for breach in decision.breaches)
    row.evaluated_at = now_text
    row.last_metrics = canonical_json(metrics)
    row.version += 1
    from_level = int(row.level)
    if decision.lowers and decision.breaches:
        reason = "; ".join(
            f"{b.metric} {b.value:.3f} is above {b.threshold:.3f}" for b in decision.breaches
        )
        _change(
            session,
            row,
            to_level=decision.target,
            direction="lowered",
            by=CONTROLLER,
            reason=reason,
            evidence={
                "metrics": metrics,
                "breaches": list(breaches),
                "ceiling": oversight.ceiling,
                "window_since": start,
            },
            responsible=Responsible(
                guardian=f"user:{oversight.guardian}" if oversight.guardian else None
            ),
            now=now_text,
            clock=clock,
        )
    session.flush()
    return Evaluation(
        agent_id=agent_id,
        from_level=from_level,
        to_level=int(row.level),
        metrics=metrics,
        breaches=breaches,
        evaluated_at=now_text,
    )


def evaluate_all(
    session: Session,
    *,
    agent_ids: Sequence[str],
    policy: AutonomyPolicy | None = None,
    clock: Clock | None = None,
) -> list[Evaluation]:
    return [
        evaluate(session, agent_id=agent_id, policy=policy, clock=clock) for agent_id in agent_ids
    ]


def raise_level(
    session: Session,
    *,
    agent_id: str,
    to_level: int,
    by: str,
    reason: str,
    policy: AutonomyPolicy | None = None,
    clock: Clock | None = None,
) -> AutonomyRead:
    """Raise an agent's autonomy level: only its guardian on duty may sign it off,
    never above its grade's ceiling, and not while the numbers since its last change
    still breach a threshold. Ledger: autonomy.changed (raised), naming the guardian."""
    policy = policy or default_policy()
    text = _check_change(to_level, reason, "say why the agent may act more alone")
    require_active_user(session, username=by)
    oversight = _oversight(session, agent_id)
    if oversight.guardian is None or by != oversight.guardian:
        # The registry must know the agent; an unknown agent has no guardian to sign.
        get_agent(session, agent_id=agent_id)
        raise NotTheGuardian(agent_id, by, oversight.guardian)
    row = repository.lock_or_create(session, agent_id, level=policy.initial_level)
    current = effective_level(row.level, oversight.ceiling)
    refusal = check_raise(current=current, to_level=to_level, ceiling=oversight.ceiling)
    if refusal is not None:
        raise RaiseRefused(agent_id, to_level, refusal)
    now = (clock or _SYSTEM_CLOCK).now()
    decision, _ = _judge(
        session, row, current=current, ceiling=oversight.ceiling, policy=policy, now=now
    )
    if decision.breaches:
        still = "; ".join(
            f"{b.metric} {b.value:.3f} is above {b.threshold:.3f}" for b in decision.breaches
        )
        raise RaiseRefused(agent_id, to_level, f"its recent decisions still breach: {still}")
    _change(
        session,
        row,
        to_level=to_level,
        direction="raised",
        by=f"user:{by}",
        reason=text,
        evidence={"metrics": decision.metrics.as_payload(), "ceiling": oversight.ceiling},
        responsible=Responsible(operator=f"user:{by}", guardian=f"user:{by}"),
        now=iso_utc(now),
        clock=clock,
    )
    session.flush()
    return get_autonomy(session, agent_id=agent_id, policy=policy)


def _check_change(to_level: int, reason: str, why: str) -> str:
    if problem := control_character_problem(reason or ""):
        raise InvalidAutonomyInput("reason", problem)
    text = (reason or "").strip()
    if not text:
        raise InvalidAutonomyInput("reason", f"is required: {why}")
    if len(text) > 2_000:
        raise InvalidAutonomyInput("reason", "is longer than 2000 characters")
    if not isinstance(to_level, int) or not 0 <= to_level <= MAX_LEVEL:
        raise InvalidAutonomyInput("to_level", f"must be a level from 0 to {MAX_LEVEL}")
    return text


def lower_level(
    session: Session,
    *,
    agent_id: str,
    to_level: int,
    by: str,
    reason: str,
    policy: AutonomyPolicy | None = None,
    clock: Clock | None = None,
) -> AutonomyRead:
    """Lower an agent's autonomy level by hand, at once: its guardian, its backup
    guardian or an administrator may (tightening is always safe; loosening needs the
    guardian). Ledger: autonomy.changed (lowered, by that person)."""
    policy = policy or default_policy()
    text = _check_change(to_level, reason, "say why the agent must act less alone")
    require_active_user(session, username=by)
    oversight = _oversight(session, agent_id)
    if oversight.guardian is None:
        get_agent(session, agent_id=agent_id)  # AgentNotFound for an unknown agent
    answerable = by in (oversight.guardian, oversight.backup_guardian)
    if not answerable and not has_role(session, username=by, role=Role.ADMINISTRATOR):
        raise LowerRefused(
            agent_id,
            f"{by!r} is not its guardian, its backup guardian or an administrator",
        )
    row = repository.lock_or_create(session, agent_id, level=policy.initial_level)
    current = effective_level(row.level, oversight.ceiling)
    if to_level >= current:
        raise LowerRefused(agent_id, f"{to_level} is not below the current level {current}")
    now = iso_utc((clock or _SYSTEM_CLOCK).now())
    _change(
        session,
        row,
        to_level=to_level,
        direction="lowered",
        by=f"user:{by}",
        reason=text,
        evidence={"ceiling": oversight.ceiling, "by_hand": True},
        responsible=Responsible(
            operator=f"user:{by}",
            guardian=f"user:{oversight.guardian}" if oversight.guardian else None,
        ),
        now=now,
        clock=clock,
    )
    session.flush()
    return get_autonomy(session, agent_id=agent_id, policy=policy)


def _change(
    session: Session,
    row: AgentAutonomy,
    *,
    to_level: int,
    direction: str,
    by: str,
    reason: str,
    evidence: dict[str, Any],
    responsible: Responsible,
    now: str,
    clock: Clock | None,
) -> None:
    from_level = int(row.level)
    row.level = int(clamp_level(to_level))
    row.changed_at = now
    row.changed_by = by
    row.version += 1
    repository.add_change(
        session,
        AutonomyChange(
            id=new_id(),
            agent_id=row.agent_id,
            from_level=from_level,
            to_level=row.level,
            direction=direction,
            changed_by=by,
            reason=reason,
            evidence=canonical_json(evidence),
            changed_at=now,
        ),
    )
    append(
        session,
        kind="autonomy.changed",
        actor=by,
        payload={
            "agent_id": row.agent_id,
            "from_level": from_level,
            "to_level": row.level,
            "direction": direction,
            "reason": reason,
            **evidence,
        },
        responsible=responsible,
        clock=clock,
    )

"""Every query of the autonomy tables, and the controller's read of an agent's
recent proposals (control's own table) with their case groups and appeals."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    Subquery,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cogov.control.autonomy.models import AgentAutonomy, AutonomyChange
from cogov.control.models import ProposalRecord
from cogov.intake.models import Case
from cogov.ledger.repository import lock_for_append
from cogov.review import repository as review_repository


def get(session: Session, agent_id: str, *, for_update: bool = False) -> AgentAutonomy | None:
    query = select(AgentAutonomy).where(AgentAutonomy.agent_id == agent_id)
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def level_of(session: Session, agent_id: str) -> int | None:
    """The stored level alone (the pipeline asks this for every case: one lookup)."""
    return session.execute(
        select(AgentAutonomy.level).where(AgentAutonomy.agent_id == agent_id)
    ).scalar_one_or_none()


def lock_or_create(session: Session, agent_id: str, *, level: int) -> AgentAutonomy:
    """The agent's row, locked until the transaction ends so two evaluations of one
    agent never act on the same numbers twice; created at ``level`` if missing (a
    concurrent creator wins the race and this one takes its row)."""
    # The ledger's lock first, then the row: the order every path that lowers or raises
    # a level takes (a review decision has appended to the ledger before it asks the
    # controller), so two of them never wait for each other in a circle.
    lock_for_append(session)
    row = get(session, agent_id, for_update=True)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            session.add(AgentAutonomy(agent_id=agent_id, level=level, version=1))
    except IntegrityError:
        pass
    row = get(session, agent_id, for_update=True)
    assert row is not None
    return row


def add_change(session: Session, change: AutonomyChange) -> None:
    session.add(change)


def get_many(session: Session, agent_ids: Sequence[str]) -> dict[str, AgentAutonomy]:
    """The stored rows of ``agent_ids`` (agents never set have none), in one query."""
    if not agent_ids:
        return {}
    query = select(AgentAutonomy).where(AgentAutonomy.agent_id.in_(agent_ids))
    return {row.agent_id: row for row in session.execute(query).scalars()}


def latest_changes(session: Session, agent_ids: Sequence[str]) -> dict[str, AutonomyChange]:
    """Each agent's latest change (the first :func:`changes` gives), for the agents of
    ``agent_ids`` that have one, in one query."""
    if not agent_ids:
        return {}
    order = func.row_number().over(
        partition_by=AutonomyChange.agent_id,
        order_by=(AutonomyChange.changed_at.desc(), AutonomyChange.id.desc()),
    )
    ranked = (
        select(AutonomyChange.id, order.label("rank"))
        .where(AutonomyChange.agent_id.in_(agent_ids))
        .subquery("ranked")
    )
    query = (
        select(AutonomyChange)
        .join(ranked, ranked.c.id == AutonomyChange.id)
        .where(ranked.c.rank == 1)
    )
    return {row.agent_id: row for row in session.execute(query).scalars()}


def changes(session: Session, agent_id: str, *, limit: int = 20) -> Sequence[AutonomyChange]:
    return (
        session.execute(
            select(AutonomyChange)
            .where(AutonomyChange.agent_id == agent_id)
            .order_by(AutonomyChange.changed_at.desc(), AutonomyChange.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )


@dataclass(frozen=True, slots=True)
class ProposalOutcome:
    """The columns of a proposal the controller reads (not its text or explanation)."""

    id: str
    case_id: str
    created_at: str
    state: str
    outcome: str | None
    verdict_by: str
    reasons: str


def recent_proposals(
    session: Session, agent_id: str, *, since: str, limit: int
) -> list[ProposalOutcome]:
    """The agent's latest proposals made at or after ``since`` (newest first)."""
    rows = session.execute(
        select(
            ProposalRecord.id,
            ProposalRecord.case_id,
            ProposalRecord.created_at,
            ProposalRecord.state,
            ProposalRecord.outcome,
            ProposalRecord.verdict_by,
            ProposalRecord.reasons,
        )
        .where(ProposalRecord.agent_id == agent_id, ProposalRecord.created_at >= since)
        .order_by(ProposalRecord.created_at.desc(), ProposalRecord.id.desc())
        .limit(limit)
    ).all()
    return [ProposalOutcome(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class WindowTally:
    """How many decisions of the window share one case-group record and one set of
    flags (an aggregate row), and when the first and last of them were made."""

    group_attributes: str | None
    handled_without_human: bool
    reviewed: bool
    overridden: bool
    rule_hit: bool
    appeal_upheld: bool
    count: int
    first_at: str
    last_at: str


def _starts_with(dialect: str, column: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    # Case-sensitive on both backends (SQLite's LIKE ignores ASCII case; GLOB does not).
    # The prefixes used here hold no wildcard of either syntax.
    if dialect == "sqlite":
        return column.op("GLOB")(f"{prefix}*")
    return column.like(f"{prefix}%")


def _contains(dialect: str, column: ColumnElement[str], text: str) -> ColumnElement[bool]:
    if dialect == "sqlite":
        return column.op("GLOB")(f"*{text}*")
    return column.like(f"%{text}%")


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _window_rows(
    conditions: Sequence[ColumnElement[bool]], name: str, *, by_agent: bool
) -> Subquery:
    """The latest ``limit`` proposals meeting ``conditions`` (newest first), found
    through the (agent_id, created_at, id) index, with their agent when ``by_agent``."""
    p = ProposalRecord
    return (
        select(
            *([p.agent_id] if by_agent else []),
            p.id,
            p.case_id,
            p.created_at,
            p.state,
            p.outcome,
            p.verdict_by,
            p.reasons,
        )
        .where(*conditions)
        .order_by(p.created_at.desc(), p.id.desc())
        .limit(bindparam("limit", type_=Integer))
        .subquery(name)
    )


def _tallied(dialect: str, window: Subquery, *, by_agent: bool) -> Select[Any]:
    """The window's proposals grouped by their case's group attributes and their
    flags (first by agent when ``by_agent``), with each group's count and its first
    and last proposal's time."""
    w = window.c
    # A negative-list rule spoke: it decided the verdict, or a check of the verdict's
    # reasons (canonical JSON: no spaces; a quote inside a text is escaped) is a rule's.
    rule_hit = or_(
        _starts_with(dialect, w.verdict_by, "rule:"),
        _contains(dialect, w.reasons, '"ref":"rule:'),
    )
    reviewed = w.state == "decided"
    flags = (
        select(
            *([w.agent_id] if by_agent else []),
            Case.group_attributes.label("groups"),
            _flag(w.state == "applied").label("handled"),
            _flag(reviewed).label("reviewed"),
            _flag(and_(reviewed, w.outcome.in_(("edited", "rejected")))).label("overridden"),
            _flag(rule_hit).label("rule_hit"),
            _flag(review_repository.upheld_appeal_exists(w.id)).label("upheld"),
            w.created_at,
        )
        .select_from(window)
        .outerjoin(Case, Case.id == w.case_id)
        .subquery("flags")
    )
    f = flags.c
    keys = [f.groups, f.handled, f.reviewed, f.overridden, f.rule_hit, f.upheld]
    if by_agent:
        keys.insert(0, f.agent_id)
    return select(*keys, func.count(), func.min(f.created_at), func.max(f.created_at)).group_by(
        *keys
    )


def _in_window(agent: BindParameter[str]) -> list[ColumnElement[bool]]:
    p = ProposalRecord
    return [
        p.agent_id == agent,
        p.created_at >= bindparam("start"),
        p.created_at <= bindparam("now"),
    ]


@functools.cache
def _window_query(dialect: str, after_change: bool) -> Select[Any]:
    """The aggregate query of :func:`window_tallies`, built once per backend (building
    a statement this size costs far more than running it) with bound parameters
    ``agent_id``, ``start``, ``now``, ``limit`` and (``after_change``) ``since``."""
    conditions = _in_window(bindparam("agent_id"))
    if after_change:
        conditions.append(ProposalRecord.created_at > bindparam("since"))
    return _tallied(dialect, _window_rows(conditions, "window", by_agent=False), by_agent=False)


#: Agents whose windows one statement of :func:`windows_tallies` reads (SQLite allows
#: at most 500 parts in one UNION ALL).
WINDOWS_PER_STATEMENT = 100


@functools.lru_cache(maxsize=2 * WINDOWS_PER_STATEMENT)
def _windows_query(dialect: str, agents: int) -> Select[Any]:
    """The aggregate query of :func:`windows_tallies` for ``agents`` agents (built once
    per backend and size): each agent's window is its own index-ordered part of a UNION
    ALL, with bound parameters ``agent_<i>`` and ``since_<i>`` (``""``, before every
    time, when the agent's level never changed), and ``start``, ``now``, ``limit``."""
    parts = [
        _window_rows(
            [
                *_in_window(bindparam(f"agent_{i}")),
                ProposalRecord.created_at > bindparam(f"since_{i}"),
            ],
            f"window_{i}",
            by_agent=True,
        )
        for i in range(agents)
    ]
    selects = [select(*part.c) for part in parts]
    window = (selects[0] if agents == 1 else union_all(*selects)).subquery("window")
    return _tallied(dialect, window, by_agent=True)


def window_tallies(
    session: Session, agent_id: str, *, start: str, since: str | None, now: str, limit: int
) -> list[WindowTally]:
    """The controller's window counted by the database: the agent's latest ``limit``
    proposals made in [``start``, ``now``] and strictly after ``since`` (its last level
    change), grouped by their case's group attributes and their flags. One query over
    at most ``limit`` rows, found through the (agent_id, created_at) index; nothing of
    the window is loaded. The flags mean what :class:`Observation`'s do."""
    query = _window_query(session.get_bind().dialect.name, since is not None)
    values: dict[str, Any] = {"agent_id": agent_id, "start": start, "now": now, "limit": limit}
    if since is not None:
        values["since"] = since
    return [_tally(*row) for row in session.execute(query, values).all()]


def windows_tallies(
    session: Session, since: Mapping[str, str | None], *, start: str, now: str, limit: int
) -> dict[str, list[WindowTally]]:
    """:func:`window_tallies` for many agents at once, keyed by agent: ``since`` maps
    each agent to its last level change (None: never changed). One query for every
    :data:`WINDOWS_PER_STATEMENT` agents, each agent's window found through the index
    as :func:`window_tallies` finds it."""
    dialect = session.get_bind().dialect.name
    agents = list(since)
    found: dict[str, list[WindowTally]] = {agent_id: [] for agent_id in agents}
    for first in range(0, len(agents), WINDOWS_PER_STATEMENT):
        chunk = agents[first : first + WINDOWS_PER_STATEMENT]
        values: dict[str, Any] = {"start": start, "now": now, "limit": limit}
        for i, agent_id in enumerate(chunk):
            values[f"agent_{i}"] = agent_id
            values[f"since_{i}"] = since[agent_id] or ""
        for agent_id, *row in session.execute(_windows_query(dialect, len(chunk)), values):
            found[agent_id].append(_tally(*row))
    return found


def _tally(
    groups: str | None,
    handled: int,
    reviewed: int,
    overridden: int,
    hit: int,
    upheld: int,
    count: int,
    first_at: str,
    last_at: str,
) -> WindowTally:
    return WindowTally(
        group_attributes=groups,
        handled_without_human=bool(handled),
        reviewed=bool(reviewed),
        overridden=bool(overridden),
        rule_hit=bool(hit),
        appeal_upheld=bool(upheld),
        count=int(count),
        first_at=first_at,
        last_at=last_at,
    )

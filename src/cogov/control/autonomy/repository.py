"""Every query of the autonomy tables, and the controller's read of an agent's
recent proposals (control's own table) with their case groups and appeals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cogov.control.autonomy.models import AgentAutonomy, AutonomyChange
from cogov.control.models import ProposalRecord
from cogov.ledger.repository import lock_for_append


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

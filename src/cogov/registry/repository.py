"""Every query on the registry's tables. Nothing else touches them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cogov.registry.models import RegistryAgent, RegistryEvent, RegistryFiling
from cogov.registry.rules import FilingStatus


def agent(session: Session, agent_id: str, *, for_update: bool = False) -> RegistryAgent | None:
    query = select(RegistryAgent).where(RegistryAgent.agent_id == agent_id)
    if for_update:
        # Serialise lifecycle steps on one agent (PostgreSQL; SQLite has one writer).
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def add_new_agent(session: Session, row: RegistryAgent) -> bool:
    """Insert a new agent; False, with nothing written and the caller's transaction
    still usable, when another transaction inserted the same agent first (two first
    filings at once: on PostgreSQL the later insert waits for the earlier commit)."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def agents(session: Session) -> Sequence[RegistryAgent]:
    return session.scalars(select(RegistryAgent).order_by(RegistryAgent.agent_id)).all()


def active_agents(session: Session) -> Sequence[RegistryAgent]:
    query = (
        select(RegistryAgent)
        .where(RegistryAgent.active_version.is_not(None))
        .order_by(RegistryAgent.agent_id)
    )
    return session.scalars(query).all()


def active_filings(
    session: Session, *, agent_id: str | None = None
) -> Sequence[tuple[RegistryAgent, RegistryFiling]]:
    """Every active agent (or only ``agent_id`` when it is active) with the filing of
    its active version, in one query, ordered by agent."""
    query = (
        select(RegistryAgent, RegistryFiling)
        .join(
            RegistryFiling,
            and_(
                RegistryFiling.agent_id == RegistryAgent.agent_id,
                RegistryFiling.version == RegistryAgent.active_version,
            ),
        )
        .order_by(RegistryAgent.agent_id)
    )
    if agent_id is not None:
        query = query.where(RegistryAgent.agent_id == agent_id)
    return [(agent, filing) for agent, filing in session.execute(query)]


def guarded_by(session: Session, username: str) -> Sequence[RegistryAgent]:
    query = (
        select(RegistryAgent)
        .where(
            (RegistryAgent.guardian_username == username)
            | (RegistryAgent.backup_guardian_username == username)
        )
        .order_by(RegistryAgent.agent_id)
    )
    return session.scalars(query).all()


#: The largest version a filing row can hold (the column is a 32-bit INTEGER).
MAX_VERSION = 2**31 - 1


def filing(session: Session, agent_id: str, version: int) -> RegistryFiling | None:
    if not 1 <= version <= MAX_VERSION:  # no row has it; PostgreSQL refuses to compare it
        return None
    query = select(RegistryFiling).where(
        RegistryFiling.agent_id == agent_id, RegistryFiling.version == version
    )
    return session.scalars(query).one_or_none()


def latest_version(session: Session, agent_id: str) -> int | None:
    query = select(func.max(RegistryFiling.version)).where(RegistryFiling.agent_id == agent_id)
    value = session.scalar(query)
    return int(value) if value is not None else None


def filings(session: Session, agent_id: str) -> Sequence[RegistryFiling]:
    query = (
        select(RegistryFiling)
        .where(RegistryFiling.agent_id == agent_id)
        .order_by(RegistryFiling.version)
    )
    return session.scalars(query).all()


def events(session: Session, agent_id: str) -> Sequence[RegistryEvent]:
    query = (
        select(RegistryEvent)
        .where(RegistryEvent.agent_id == agent_id)
        .order_by(RegistryEvent.ledger_seq)
    )
    return session.scalars(query).all()


def activity_events(session: Session, agent_ids: Sequence[str]) -> Sequence[RegistryEvent]:
    """The steps that made a version of one of ``agent_ids`` active or ended its being
    active, in one query, each agent's in ledger order (what its active periods are
    read from)."""
    if not agent_ids:
        return []
    active = FilingStatus.ACTIVE.value
    query = (
        select(RegistryEvent)
        .where(
            RegistryEvent.agent_id.in_(agent_ids),
            or_(RegistryEvent.to_status == active, RegistryEvent.from_status == active),
        )
        .order_by(RegistryEvent.agent_id, RegistryEvent.ledger_seq)
    )
    return session.scalars(query).all()


def add(session: Session, row: RegistryAgent | RegistryFiling | RegistryEvent) -> None:
    session.add(row)
    session.flush()

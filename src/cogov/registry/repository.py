"""Every query on the registry's tables. Nothing else touches them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cogov.registry.models import RegistryAgent, RegistryEvent, RegistryFiling


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


def add(session: Session, row: RegistryAgent | RegistryFiling | RegistryEvent) -> None:
    session.add(row)
    session.flush()

"""Every query on control's tables. Nothing else touches them."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cogov.control.models import CaseWorkflow, ControlConfig, ProposalRecord
from cogov.db.batches import in_batches, insert_rows
from cogov.intake.models import Case
from cogov.intake.repository import where_cases


def first_repeat_of(session: Session, case_id: str) -> str | None:
    """A case merged into ``case_id`` as its repeat, if any (the smallest id)."""
    return session.scalars(
        select(CaseWorkflow.case_id)
        .where(CaseWorkflow.duplicate_of == case_id)
        .order_by(CaseWorkflow.case_id)
        .limit(1)
    ).first()


def lock_workflows(session: Session, case_ids: Sequence[str]) -> dict[str, CaseWorkflow]:
    """The workflows of ``case_ids`` that exist, by case id, locked in case-id order
    (PostgreSQL: two writers locking overlapping pairs wait for each other instead of
    deadlocking) and read as they stand once locked. SQLite already holds its one
    write lock."""
    query = select(CaseWorkflow).where(CaseWorkflow.case_id.in_(list(case_ids)))
    if session.get_bind().dialect.name != "sqlite":
        query = query.order_by(CaseWorkflow.case_id).with_for_update()
    rows = session.scalars(query.execution_options(populate_existing=True))
    return {row.case_id: row for row in rows}


def get_workflow(
    session: Session, case_id: str, *, for_update: bool = False
) -> CaseWorkflow | None:
    # SQLite transactions begin IMMEDIATE (one writer at a time): the row is already
    # ours, and the identity map answers without a query.
    if for_update and session.get_bind().dialect.name != "sqlite":
        return session.scalars(
            select(CaseWorkflow).where(CaseWorkflow.case_id == case_id).with_for_update()
        ).first()
    return session.get(CaseWorkflow, case_id)


def add(session: Session, row: CaseWorkflow | ProposalRecord | ControlConfig) -> None:
    session.add(row)


def insert_workflows(session: Session, rows: Sequence[CaseWorkflow]) -> None:
    insert_rows(session, CaseWorkflow, rows)


def insert_proposals(session: Session, rows: Sequence[ProposalRecord]) -> None:
    insert_rows(session, ProposalRecord, rows)


def config_exists(session: Session, config_hash: str) -> bool:
    return session.get(ControlConfig, config_hash) is not None


def get_config(session: Session, config_hash: str) -> ControlConfig | None:
    return session.get(ControlConfig, config_hash)


def get_proposal(
    session: Session, proposal_id: str, *, for_update: bool = False
) -> ProposalRecord | None:
    if for_update and session.get_bind().dialect.name != "sqlite":
        return session.scalars(
            select(ProposalRecord).where(ProposalRecord.id == proposal_id).with_for_update()
        ).first()
    return session.get(ProposalRecord, proposal_id)


def proposals_for_case(session: Session, case_id: str) -> list[ProposalRecord]:
    return list(
        session.scalars(
            select(ProposalRecord)
            .where(ProposalRecord.case_id == case_id)
            .order_by(ProposalRecord.created_at, ProposalRecord.id)
        )
    )


def pending_proposals_for_case(session: Session, case_id: str) -> list[ProposalRecord]:
    """The case's proposals that wait for a human, oldest first, locked for update
    (outside SQLite, whose writer holds the whole database)."""
    query = (
        select(ProposalRecord)
        .where(ProposalRecord.case_id == case_id, ProposalRecord.state == "pending_review")
        .order_by(ProposalRecord.created_at, ProposalRecord.id)
    )
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return list(session.scalars(query))


def workflows_for_cases(session: Session, case_ids: Sequence[str]) -> list[CaseWorkflow]:
    found: list[CaseWorkflow] = []
    for batch in in_batches(case_ids):
        found.extend(session.scalars(select(CaseWorkflow).where(CaseWorkflow.case_id.in_(batch))))
    return found


def cases_with_workflows(
    session: Session,
    *,
    ids: Sequence[str] | None = None,
    service_codes: Sequence[str] | None = None,
    received_from: str | None = None,
    received_to: str | None = None,
    state_in: Collection[str] | None = None,
    state_not_in: Collection[str] | None = None,
    limit: int = 1000,
) -> list[tuple[Case, CaseWorkflow | None]]:
    """Cases, newest first, each with its workflow (None before one is opened), in one
    query: every filter, the state ones included, applies before ``limit``.
    ``state_not_in`` keeps cases without a workflow too."""
    query = where_cases(
        select(Case, CaseWorkflow).outerjoin(CaseWorkflow, CaseWorkflow.case_id == Case.id),
        ids=ids,
        service_codes=service_codes,
        received_from=received_from,
        received_to=received_to,
    )
    if state_in is not None:
        query = query.where(CaseWorkflow.state.in_(list(state_in)))
    if state_not_in is not None:
        query = query.where(
            or_(CaseWorkflow.state.is_(None), CaseWorkflow.state.not_in(list(state_not_in)))
        )
    query = query.order_by(Case.received_at.desc(), Case.id.desc()).limit(limit)
    return [(case, workflow) for case, workflow in session.execute(query)]


def proposals_for_cases(session: Session, case_ids: Sequence[str]) -> list[ProposalRecord]:
    """The proposals on these cases, in :func:`proposals_for_case`'s order within a case."""
    found: list[ProposalRecord] = []
    for batch in in_batches(case_ids):
        found.extend(
            session.scalars(
                select(ProposalRecord)
                .where(ProposalRecord.case_id.in_(batch))
                .order_by(ProposalRecord.created_at, ProposalRecord.id)
            )
        )
    return found


def proposals_by_state(session: Session, state: str, *, limit: int = 1000) -> list[ProposalRecord]:
    return list(
        session.scalars(
            select(ProposalRecord)
            .where(ProposalRecord.state == state)
            .order_by(ProposalRecord.created_at)
            .limit(limit)
        )
    )


def workflows_in_states(
    session: Session,
    states: Sequence[str],
    *,
    department: str | None,
    limit: int,
    departments: Sequence[str] | None = None,
) -> list[CaseWorkflow]:
    """Cases standing in one of ``states`` (of one department, or of any of
    ``departments``, when given), the longest untouched first."""
    query = select(CaseWorkflow).where(CaseWorkflow.state.in_(list(states)))
    if department is not None:
        query = query.where(CaseWorkflow.department == department)
    if departments is not None:
        query = query.where(CaseWorkflow.department.in_(list(departments)))
    return list(
        session.scalars(query.order_by(CaseWorkflow.updated_at, CaseWorkflow.case_id).limit(limit))
    )

"""Every query on control's tables. Nothing else touches them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.control.models import CaseWorkflow, ControlConfig, ProposalRecord
from cogov.db.batches import in_batches, insert_rows


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


def workflows_for_cases(session: Session, case_ids: Sequence[str]) -> list[CaseWorkflow]:
    found: list[CaseWorkflow] = []
    for batch in in_batches(case_ids):
        found.extend(session.scalars(select(CaseWorkflow).where(CaseWorkflow.case_id.in_(batch))))
    return found


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

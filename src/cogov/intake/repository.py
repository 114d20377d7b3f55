"""Every query on intake's tables. Nothing else touches them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from cogov.db.batches import in_batches, insert_rows
from cogov.intake.models import Case, CaseContact

SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])


def add_case(session: Session, case: Case, contact: CaseContact | None) -> None:
    session.add(case)
    if contact is not None:
        session.add(contact)


def insert_cases(session: Session, cases: Sequence[Case], contacts: Sequence[CaseContact]) -> None:
    """Insert new cases, then their vault rows (which refer to them)."""
    insert_rows(session, Case, cases)
    insert_rows(session, CaseContact, contacts)


def get_case(session: Session, case_id: str) -> Case | None:
    return session.get(Case, case_id)


def by_idempotency_key(session: Session, key: str) -> Case | None:
    return session.scalars(select(Case).where(Case.idempotency_key == key)).first()


def by_token_hash(session: Session, token_hash: str) -> Case | None:
    return session.scalars(select(Case).where(Case.citizen_token_hash == token_hash)).first()


def lock_case(session: Session, case_id: str) -> None:
    """Hold the case row until the transaction ends, so two writers acting on one
    case (e.g. two ratings) take turns. SQLite transactions already begin IMMEDIATE
    (one writer at a time)."""
    if session.get_bind().dialect.name != "sqlite":
        session.execute(select(Case.id).where(Case.id == case_id).with_for_update())


def get_contact(session: Session, case_id: str) -> CaseContact | None:
    return session.get(CaseContact, case_id)


def delete_contact(session: Session, contact: CaseContact) -> None:
    session.delete(contact)


def contacts_to_seal(session: Session, current_key_id: str, limit: int) -> list[CaseContact]:
    """Up to ``limit`` vault rows not sealed under the current key (plaintext rows
    included), locked for this transaction; on PostgreSQL rows another rotation holds
    are skipped, so two rotations never seal one row twice."""
    query = (
        select(CaseContact)
        .where(or_(CaseContact.key_id.is_(None), CaseContact.key_id != current_key_id))
        .order_by(CaseContact.case_id)
        .limit(limit)
    )
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def contact_counts_by_key(session: Session) -> dict[str | None, int]:
    """Vault rows per key id (None: rows still in plaintext)."""
    rows = session.execute(select(CaseContact.key_id, func.count()).group_by(CaseContact.key_id))
    return {key_id: int(count) for key_id, count in rows}


def list_cases(
    session: Session,
    *,
    ids: Sequence[str] | None = None,
    service_codes: Sequence[str] | None = None,
    received_from: str | None = None,
    received_to: str | None = None,
    limit: int = 1000,
) -> list[Case]:
    query = where_cases(
        select(Case),
        ids=ids,
        service_codes=service_codes,
        received_from=received_from,
        received_to=received_to,
    )
    return list(session.scalars(query.order_by(Case.received_at.desc()).limit(limit)))


def where_cases(
    query: SelectT,
    *,
    ids: Sequence[str] | None = None,
    service_codes: Sequence[str] | None = None,
    received_from: str | None = None,
    received_to: str | None = None,
) -> SelectT:
    """``query`` narrowed to cases by id, service code and time received (ISO-8601 UTC
    text, both ends included); an empty or absent filter narrows nothing."""
    if ids:
        query = query.where(Case.id.in_(list(ids)))
    if service_codes:
        query = query.where(Case.service_code.in_(list(service_codes)))
    if received_from:
        query = query.where(Case.received_at >= received_from)
    if received_to:
        query = query.where(Case.received_at <= received_to)
    return query


def cases_by_ids(session: Session, case_ids: Sequence[str]) -> list[Case]:
    found: list[Case] = []
    for batch in in_batches(case_ids):
        found.extend(session.scalars(select(Case).where(Case.id.in_(batch))))
    return found

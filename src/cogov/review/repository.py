"""Every query of the review tables (queue items, claims, teams, appeals)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, Select, and_, delete, false, func, or_, select
from sqlalchemy.orm import Session

from cogov.db.batches import in_batches, insert_rows
from cogov.review.models import Appeal, ReviewClaim, ReviewItem, ReviewTeamMember
from cogov.review.rules import AppealOutcome, ItemState


def _skip_locked(session: Session, query: Select[ReviewItem]) -> Select[ReviewItem]:
    # PostgreSQL: lock the rows taken and skip rows another transaction holds, so two
    # reviewers (or two escalation runs) never get the same item. SQLite has a single
    # writer at a time (transactions begin IMMEDIATE), which serialises them anyway.
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def insert_items(session: Session, rows: Sequence[ReviewItem]) -> None:
    insert_rows(session, ReviewItem, rows)


def add(session: Session, row: ReviewItem | ReviewClaim | ReviewTeamMember | Appeal) -> None:
    session.add(row)


def item(session: Session, item_id: str, *, for_update: bool = False) -> ReviewItem | None:
    query = select(ReviewItem).where(ReviewItem.id == item_id)
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def item_for_proposal(session: Session, proposal_id: str) -> ReviewItem | None:
    return session.execute(
        select(ReviewItem).where(ReviewItem.proposal_id == proposal_id)
    ).scalar_one_or_none()


def _open_to(reviewer: str, teams: Sequence[str], now: str) -> list[ColumnElement[bool]]:
    """Conditions for items ``reviewer`` may claim now: open (queued, or a lapsed
    claim), and theirs to work (escalated to them, or - not escalated - their team's
    or guarded by them)."""
    return [
        or_(
            ReviewItem.state == ItemState.QUEUED.value,
            and_(
                ReviewItem.state == ItemState.CLAIMED.value,
                ReviewItem.claim_expires_at <= now,
            ),
        ),
        or_(
            ReviewItem.escalated_to == reviewer,
            and_(
                ReviewItem.escalated_to.is_(None),
                or_(
                    ReviewItem.guardian == reviewer,
                    ReviewItem.backup_guardian == reviewer,
                    ReviewItem.team.in_(list(teams)) if teams else false(),
                ),
            ),
        ),
    ]


def next_claimable(
    session: Session, *, reviewer: str, teams: Sequence[str], team: str | None, now: str
) -> ReviewItem | None:
    """The most urgent item ``reviewer`` may claim (earliest deadline first), locked."""
    query = select(ReviewItem).where(*_open_to(reviewer, teams, now))
    if team is not None:
        query = query.where(ReviewItem.team == team)
    query = query.order_by(ReviewItem.deadline, ReviewItem.created_at, ReviewItem.id).limit(1)
    return session.execute(_skip_locked(session, query)).scalar_one_or_none()


#: PostgreSQL advisory lock key of the escalation sweep (any fixed 64-bit number
#: unique among cogov's advisory locks): "cogovesc" in ASCII.
ESCALATION_SWEEP_LOCK = 0x636F676F76657363


def try_lock_escalation_sweep(session: Session) -> bool:
    """Take the escalation sweep's lock until this transaction ends; False at once
    when another transaction holds it (PostgreSQL advisory lock). SQLite: True (one
    writer at a time serialises sweeps anyway)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    taken = session.scalar(select(func.pg_try_advisory_xact_lock(ESCALATION_SWEEP_LOCK)))
    return bool(taken)


def overdue(session: Session, *, now: str, limit: int) -> Sequence[ReviewItem]:
    """Undecided, unescalated items past their deadline that nobody is working
    (unclaimed, or claimed and abandoned), locked for escalation."""
    query = (
        select(ReviewItem)
        .where(
            ReviewItem.deadline <= now,
            ReviewItem.escalated_to.is_(None),
            or_(
                ReviewItem.state == ItemState.QUEUED.value,
                and_(
                    ReviewItem.state == ItemState.CLAIMED.value,
                    ReviewItem.claim_expires_at <= now,
                ),
            ),
        )
        .order_by(ReviewItem.deadline, ReviewItem.id)
        .limit(limit)
    )
    return session.execute(_skip_locked(session, query)).scalars().all()


def items(
    session: Session,
    *,
    states: Sequence[str] | None = None,
    teams: Sequence[str] | None = None,
    agent_id: str | None = None,
    case_id: str | None = None,
    visible_to: tuple[str, Sequence[str]] | None = None,
    limit: int = 100,
) -> Sequence[ReviewItem]:
    """Items, most urgent first. ``visible_to`` = (reviewer, their teams): only the
    items that reviewer may work (or already holds)."""
    query = select(ReviewItem)
    if states:
        query = query.where(ReviewItem.state.in_(list(states)))
    if teams:
        query = query.where(ReviewItem.team.in_(list(teams)))
    if agent_id is not None:
        query = query.where(ReviewItem.agent_id == agent_id)
    if case_id is not None:
        query = query.where(ReviewItem.case_id == case_id)
    if visible_to is not None:
        reviewer, member_of = visible_to
        query = query.where(
            or_(
                ReviewItem.escalated_to == reviewer,
                ReviewItem.claimed_by == reviewer,
                and_(
                    ReviewItem.escalated_to.is_(None),
                    or_(
                        ReviewItem.guardian == reviewer,
                        ReviewItem.backup_guardian == reviewer,
                        ReviewItem.team.in_(list(member_of)) if member_of else false(),
                    ),
                ),
            )
        )
    query = query.order_by(ReviewItem.deadline, ReviewItem.created_at, ReviewItem.id).limit(limit)
    return session.execute(query).scalars().all()


def open_claim(session: Session, item_id: str) -> ReviewClaim | None:
    return session.execute(
        select(ReviewClaim)
        .where(ReviewClaim.item_id == item_id, ReviewClaim.ended_at.is_(None))
        .order_by(ReviewClaim.claimed_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def claimers(session: Session, item_id: str) -> list[str]:
    """Everyone who ever claimed the item, in order."""
    rows = session.execute(
        select(ReviewClaim.reviewer)
        .where(ReviewClaim.item_id == item_id)
        .order_by(ReviewClaim.claimed_at, ReviewClaim.id)
    ).scalars()
    return list(dict.fromkeys(rows))


def teams_of(session: Session, username: str) -> list[str]:
    return list(
        session.execute(
            select(ReviewTeamMember.team)
            .where(ReviewTeamMember.username == username)
            .order_by(ReviewTeamMember.team)
        ).scalars()
    )


def team_member(session: Session, team: str, username: str) -> ReviewTeamMember | None:
    return session.get(ReviewTeamMember, (team, username))


def team_members(session: Session, team: str | None) -> Sequence[ReviewTeamMember]:
    query = select(ReviewTeamMember).order_by(ReviewTeamMember.team, ReviewTeamMember.username)
    if team is not None:
        query = query.where(ReviewTeamMember.team == team)
    return session.execute(query).scalars().all()


def remove_team_member(session: Session, team: str, username: str) -> int:
    result = session.execute(
        delete(ReviewTeamMember).where(
            ReviewTeamMember.team == team, ReviewTeamMember.username == username
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def appeal(session: Session, appeal_id: str, *, for_update: bool = False) -> Appeal | None:
    query = select(Appeal).where(Appeal.id == appeal_id)
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def appeal_for_proposal(session: Session, proposal_id: str) -> Appeal | None:
    return session.execute(
        select(Appeal).where(Appeal.proposal_id == proposal_id)
    ).scalar_one_or_none()


def appeals(
    session: Session,
    *,
    states: Sequence[str] | None = None,
    case_id: str | None = None,
    case_ids: Sequence[str] | None = None,
    agent_id: str | None = None,
    limit: int | None = 100,
) -> list[Appeal]:
    """Appeals oldest first, at most ``limit`` (None: all). ``case_ids``: on any of
    these cases, one query per :data:`~cogov.db.batches.ID_BATCH` ids."""
    query = select(Appeal)
    if states:
        query = query.where(Appeal.state.in_(list(states)))
    if case_id is not None:
        query = query.where(Appeal.case_id == case_id)
    if agent_id is not None:
        query = query.where(Appeal.agent_id == agent_id)
    query = query.order_by(Appeal.filed_at, Appeal.id).limit(limit)
    if case_ids is None:
        return list(session.scalars(query))
    found = [
        appeal
        for batch in in_batches(case_ids)
        for appeal in session.scalars(query.where(Appeal.case_id.in_(batch)))
    ]
    found.sort(key=lambda appeal: (appeal.filed_at, appeal.id))
    return found[:limit]


def upheld_appeal_exists(proposal_id: ColumnElement[str]) -> ColumnElement[bool]:
    """True where an upheld appeal found the proposal ``proposal_id`` wrong (for use
    inside another package's query, e.g. the autonomy controller's window)."""
    return (
        select(Appeal.id)
        .where(Appeal.proposal_id == proposal_id, Appeal.outcome == AppealOutcome.UPHELD.value)
        .exists()
    )


def upheld_proposal_ids(session: Session, proposal_ids: Iterable[str]) -> set[str]:
    """Of these proposals, those an upheld appeal found wrong."""
    wanted = list(proposal_ids)
    found: set[str] = set()
    # Chunks keep the IN list well under every backend's parameter limit.
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            session.execute(
                select(Appeal.proposal_id).where(
                    Appeal.proposal_id.in_(chunk), Appeal.outcome == AppealOutcome.UPHELD.value
                )
            ).scalars()
        )
    return found

"""Use cases of the human review queue. Keyword-only, take a session, never commit.

A proposal control sent to a human is queued for the agent's guardian team
(``enqueue``); a reviewer claims the most urgent item they may work (``claim_next``,
``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and decides it (``decide``: approve, edit
or reject, with a reason code for edit and reject). The decision is final. An item
nobody decided by its deadline is escalated to the backup guardian
(``escalate_overdue``), never applied by default. Every step is a ledger entry in
the caller's transaction, naming the reviewer and the guardian.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cogov.control import (
    ControlConfig,
    Outcome,
    ProposalRead,
    ProposalState,
    WorkflowRead,
    apply_human_decision,
    get_proposal,
    proposals_for_case,
)
from cogov.control import merge_case as merge_workflow
from cogov.control.autonomy import service as autonomy
from cogov.control.autonomy.schemas import AutonomyPolicy
from cogov.control.schemas import developer_ref
from cogov.core.canonical import sha256_hex
from cogov.core.clock import Clock, SystemClock, iso_utc
from cogov.core.ids import new_id
from cogov.core.settings import load_settings
from cogov.core.text import control_character_problem
from cogov.core.types import Role
from cogov.db.batches import new_row
from cogov.identity import has_role, require_role
from cogov.ledger import EntryDraft, Responsible, append, append_draft
from cogov.review import repository
from cogov.review.config import reason_codes_for
from cogov.review.errors import (
    AlreadyClaimed,
    AlreadyDecided,
    AlreadyQueued,
    InvalidReviewInput,
    NotAReviewer,
    NotClaimedByYou,
    NothingToClaim,
    ReviewItemNotFound,
)
from cogov.review.models import ReviewClaim, ReviewItem, ReviewTeamMember
from cogov.review.rules import (
    Decision,
    ItemState,
    ReasonCodes,
    check_decision,
    check_text,
    claim_is_live,
    may_work,
)
from cogov.review.schemas import ReviewItemRead, ReviewPolicy

TEAM_MAX = 120
REASON_MAX = 4_000
_SYSTEM_CLOCK = SystemClock()
_DEFAULTS: dict[str, object] = {}


def default_policy() -> ReviewPolicy:
    """The queue's deadlines from the settings (environment / .env), read once."""
    if "policy" not in _DEFAULTS:
        _DEFAULTS["policy"] = ReviewPolicy.from_settings(load_settings())
    policy = _DEFAULTS["policy"]
    assert isinstance(policy, ReviewPolicy)
    return policy


def default_reason_codes() -> ReasonCodes:
    """The agency's reason codes (``review-reasons.yaml``) or cogov's, read once."""
    if "codes" not in _DEFAULTS:
        _DEFAULTS["codes"] = reason_codes_for(load_settings())
    codes = _DEFAULTS["codes"]
    assert isinstance(codes, ReasonCodes)
    return codes


def _now(clock: Clock | None) -> datetime:
    return (clock or _SYSTEM_CLOCK).now()


def responsible_for(
    proposal: ProposalRead, *, guardian: str | None, reviewer: str | None = None
) -> Responsible:
    """Who answers for a review step: the agent version and model (developer), the
    configuration (deployer), the reviewer (operator) and the guardian."""
    return Responsible(
        developer=developer_ref(proposal.agent_id, proposal.agent_version, proposal.model_hash),
        deployer=f"config:{proposal.config_hash}",
        operator=f"user:{reviewer}" if reviewer else None,
        reviewer=f"user:{reviewer}" if reviewer else None,
        guardian=f"user:{guardian}" if guardian else None,
    )


def _invalid(problem: ValueError) -> InvalidReviewInput:
    field, _, reason = str(problem).partition(": ")
    return InvalidReviewInput(field, reason or str(problem))


def _team_name(team: str | None) -> str:
    """A team's name as typed, trimmed: 1-TEAM_MAX characters and no control
    character (cogov.core.text's rule, checked before trimming would drop one)."""
    if problem := control_character_problem(team or ""):
        raise InvalidReviewInput("team", problem)
    name = (team or "").strip()
    if not name or len(name) > TEAM_MAX:
        raise InvalidReviewInput("team", f"must be 1-{TEAM_MAX} characters")
    return name


def _username(field: str, value: str | None) -> str:
    name = (value or "").strip()
    if not name:
        raise InvalidReviewInput(field, "must name a staff user")
    if len(name) > 64 or any(ch.isspace() for ch in name):
        raise InvalidReviewInput(field, f"{name[:70]!r} is not a username")
    return name


def enqueue(
    session: Session,
    *,
    case_id: str,
    proposal_id: str,
    agent_id: str,
    team: str,
    guardian: str,
    backup_guardian: str,
    reason: str,
    deadline: datetime | None = None,
    queued_by: str = "system:control",
    policy: ReviewPolicy | None = None,
    clock: Clock | None = None,
) -> ReviewItemRead:
    """Queue a proposal that waits for a human for the agent's guardian team.

    ``team``: the queue (the agent's guardian team, e.g. its operating department);
    the guardian and backup guardian may always work it, and the backup guardian
    gets it when nobody decided it by ``deadline`` (default: now + the review
    deadline setting). ``reason``: why a human must look (the rule or obligation
    that decided). Ledger: review.queued."""
    fields = _queue_fields(team, guardian, backup_guardian, reason, deadline, policy, clock)
    proposal = get_proposal(session, proposal_id=proposal_id)
    earlier = repository.item_for_proposal(session, proposal_id)
    row, draft = _queue_item(fields, proposal, case_id, agent_id, queued_by, earlier)
    repository.add(session, row)
    session.flush()
    append_draft(session, draft, clock=clock)
    return ReviewItemRead.of(row)


class ReviewBatch:
    """Proposals made in this transaction (e.g. by :class:`cogov.control.GovernBatch`)
    queued for review, the items written at the end with one bulk insert: the batch
    form of :func:`enqueue`, with the same checks, rows and ``review.queued``
    entries (into ``drafts``, the caller's list, in order)."""

    def __init__(
        self,
        session: Session,
        *,
        drafts: list[EntryDraft],
        policy: ReviewPolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._session = session
        self._drafts = drafts
        self._policy = policy
        self._clock = clock
        self._items: dict[str, ReviewItem] = {}  # by proposal id

    def enqueue(
        self,
        proposal: ProposalRead,
        *,
        team: str,
        guardian: str,
        backup_guardian: str,
        reason: str,
        queued_by: str = "system:control",
    ) -> ReviewItemRead:
        """:func:`enqueue` for a proposal of this transaction (given, not read back)."""
        fields = _queue_fields(
            team, guardian, backup_guardian, reason, None, self._policy, self._clock
        )
        earlier = self._items.get(proposal.id)
        row, draft = _queue_item(
            fields, proposal, proposal.case_id, proposal.agent_id, queued_by, earlier, new=True
        )
        self._items[proposal.id] = row
        self._drafts.append(draft)
        return ReviewItemRead.of(row)

    def cancel(self, proposals: Sequence[ProposalRead]) -> list[str]:
        """:func:`cancel_items` for items queued in this transaction."""
        now = iso_utc(_now(self._clock))
        closed = []
        for proposal in proposals:
            row = self._items.get(proposal.id)
            cancelled = proposal.state is ProposalState.CANCELLED
            if row is not None and cancelled and row.state in _OPEN:
                self._drafts.append(_cancelled(row, proposal, now))
                closed.append(row.id)
        return closed

    def write(self) -> None:
        repository.insert_items(self._session, list(self._items.values()))
        self._items = {}


_OPEN = (ItemState.QUEUED.value, ItemState.CLAIMED.value)


def cancel_items(
    session: Session, *, proposals: Sequence[ProposalRead], clock: Clock | None = None
) -> list[str]:
    """Close the open items (queued or claimed) of proposals control cancelled
    (``ProposalState.CANCELLED``: their case was merged into another), so nothing
    that can never take effect is left for a reviewer; a claim on one ends. Ledger:
    review.cancelled, with the reason. Returns the ids of the items closed."""
    now = iso_utc(_now(clock))
    closed = []
    for proposal in proposals:
        if proposal.state is not ProposalState.CANCELLED:
            continue
        row = repository.item_for_proposal(session, proposal.id)
        if row is None or row.state not in _OPEN:
            continue
        _end_claim(session, row, how="cancelled", now=now)
        draft = _cancelled(row, proposal, now)
        session.flush()
        append_draft(session, draft, clock=clock)
        closed.append(row.id)
    return closed


def _cancelled(row: ReviewItem, proposal: ProposalRead, now: str) -> EntryDraft:
    """Mark an open item cancelled; its ``review.cancelled`` entry."""
    row.state = ItemState.CANCELLED.value
    row.claim_expires_at = None
    row.decided_at = now
    row.version += 1
    return EntryDraft(
        kind="review.cancelled",
        actor="system:review",
        case_id=row.case_id,
        payload={
            "item_id": row.id,
            "proposal_id": proposal.id,
            "action": proposal.action,
            "team": row.team,
            "reason": "the proposal was cancelled: its case was merged into another",
        },
        responsible=responsible_for(proposal, guardian=row.guardian),
    )


@dataclass(frozen=True, slots=True)
class _QueueFields:
    team: str
    guardian: str
    backup_guardian: str
    why: str
    deadline: datetime
    now: datetime


def _queue_fields(
    team: str,
    guardian: str,
    backup_guardian: str,
    reason: str,
    deadline: datetime | None,
    policy: ReviewPolicy | None,
    clock: Clock | None,
) -> _QueueFields:
    """The queueing fields checked (InvalidReviewInput naming the field at fault)."""
    policy = policy or default_policy()
    now = _now(clock)
    team_name = _team_name(team)
    guardian = _username("guardian", guardian)
    backup_guardian = _username("backup_guardian", backup_guardian)
    if guardian == backup_guardian:
        raise InvalidReviewInput(
            "backup_guardian", "must be another person than the guardian (escalation needs one)"
        )
    try:
        why = check_text("reason", reason, required=True, limit=REASON_MAX)
    except ValueError as exc:
        raise _invalid(exc) from None
    assert why is not None
    if deadline is None:
        deadline = now + timedelta(hours=policy.deadline_hours)
    elif deadline.tzinfo is None:
        raise InvalidReviewInput("deadline", "must carry a time zone")
    return _QueueFields(team_name, guardian, backup_guardian, why, deadline, now)


def _queue_item(
    fields: _QueueFields,
    proposal: ProposalRead,
    case_id: str,
    agent_id: str,
    queued_by: str,
    earlier: ReviewItem | None,
    new: bool = False,
) -> tuple[ReviewItem, EntryDraft]:
    """The review item for a proposal that waits for a human, and its ledger entry;
    refuses a proposal of another case or agent, not waiting, or queued already."""
    proposal_id = proposal.id
    if proposal.case_id != case_id:
        raise InvalidReviewInput("case_id", f"proposal {proposal_id} is not about case {case_id}")
    if proposal.agent_id != agent_id:
        raise InvalidReviewInput(
            "agent_id", f"proposal {proposal_id} was made by {proposal.agent_id!r}"
        )
    if proposal.state is not ProposalState.PENDING_REVIEW:
        raise InvalidReviewInput(
            "proposal_id",
            f"proposal {proposal_id} is {proposal.state.value}, not waiting for a human",
        )
    if earlier is not None:
        raise AlreadyQueued(proposal_id, earlier.id)
    row = new_row(  # ``new``: a plain row for ReviewBatch's bulk insert
        ReviewItem,
        new,
        id=new_id(),
        case_id=case_id,
        proposal_id=proposal_id,
        agent_id=agent_id,
        team=fields.team,
        guardian=fields.guardian,
        backup_guardian=fields.backup_guardian,
        reason=fields.why,
        queued_by=queued_by,
        state=ItemState.QUEUED.value,
        deadline=iso_utc(fields.deadline),
        created_at=iso_utc(fields.now),
        version=1,
    )
    draft = EntryDraft(
        kind="review.queued",
        actor=queued_by,
        case_id=case_id,
        payload={
            "item_id": row.id,
            "proposal_id": proposal_id,
            "agent_id": agent_id,
            "action": proposal.action,
            "team": fields.team,
            "guardian": fields.guardian,
            "backup_guardian": fields.backup_guardian,
            "deadline": row.deadline,
            "why": fields.why,
        },
        responsible=responsible_for(proposal, guardian=fields.guardian),
    )
    return row, draft


def _reviewer(session: Session, username: str) -> str:
    """The username, if an active user holding the reviewer role."""
    return require_role(
        session, username=_username("reviewer", username), role=Role.REVIEWER
    ).username


def _check_may_work(session: Session, row: ReviewItem, reviewer: str) -> None:
    refusal = may_work(
        reviewer,
        team=row.team,
        guardian=row.guardian,
        backup_guardian=row.backup_guardian,
        escalated_to=row.escalated_to,
        teams_of_user=repository.teams_of(session, reviewer),
    )
    if refusal is not None:
        raise NotAReviewer(reviewer, row.id, refusal)


def _load_item(session: Session, item_id: str, *, for_update: bool = False) -> ReviewItem:
    row = repository.item(session, item_id, for_update=for_update)
    if row is None:
        raise ReviewItemNotFound(item_id)
    return row


def _end_claim(session: Session, row: ReviewItem, *, how: str, now: str) -> str | None:
    """Close the item's open claim, if any, and say whose it was."""
    claim = repository.open_claim(session, row.id)
    if claim is None:
        return None
    claim.ended_at = now
    claim.ended_how = how
    return claim.reviewer


def _take(
    session: Session,
    row: ReviewItem,
    reviewer: str,
    *,
    now: datetime,
    policy: ReviewPolicy,
    clock: Clock | None,
) -> None:
    """Give the item to ``reviewer`` (ending a lapsed claim), with review.claimed."""
    now_text = iso_utc(now)
    lapsed = _end_claim(session, row, how="lapsed", now=now_text)
    row.state = ItemState.CLAIMED.value
    row.claimed_by = reviewer
    row.claimed_at = now_text
    row.claim_expires_at = iso_utc(now + timedelta(minutes=policy.claim_minutes))
    row.version += 1
    repository.add(
        session,
        ReviewClaim(id=new_id(), item_id=row.id, reviewer=reviewer, claimed_at=now_text),
    )
    session.flush()
    proposal = get_proposal(session, proposal_id=row.proposal_id)
    append(
        session,
        kind="review.claimed",
        actor=f"user:{reviewer}",
        case_id=row.case_id,
        payload={
            "item_id": row.id,
            "proposal_id": row.proposal_id,
            "team": row.team,
            "claim_expires_at": row.claim_expires_at,
            "lapsed_claim_of": lapsed,
            "escalated": row.escalated_to is not None,
        },
        responsible=responsible_for(proposal, guardian=row.guardian, reviewer=reviewer),
        clock=clock,
    )


def claim_next(
    session: Session,
    *,
    reviewer: str,
    team: str | None = None,
    policy: ReviewPolicy | None = None,
    codes: ReasonCodes | None = None,
    clock: Clock | None = None,
) -> ReviewItemRead:
    """Claim the most urgent open item ``reviewer`` may work (in ``team`` if given).
    On PostgreSQL the row is taken ``FOR UPDATE SKIP LOCKED``: two reviewers
    claiming at once never get the same item. Raises NothingToClaim."""
    policy = policy or default_policy()
    reviewer = _reviewer(session, reviewer)
    now = _now(clock)
    row = repository.next_claimable(
        session,
        reviewer=reviewer,
        teams=repository.teams_of(session, reviewer),
        team=team,
        now=iso_utc(now),
    )
    if row is None:
        raise NothingToClaim(reviewer, team)
    _take(session, row, reviewer, now=now, policy=policy, clock=clock)
    return ReviewItemRead.of(row, codes or default_reason_codes())


def claim(
    session: Session,
    *,
    item_id: str,
    reviewer: str,
    policy: ReviewPolicy | None = None,
    codes: ReasonCodes | None = None,
    clock: Clock | None = None,
) -> ReviewItemRead:
    """Claim one named item. Claiming an item you already hold renews the claim."""
    policy = policy or default_policy()
    reviewer = _reviewer(session, reviewer)
    now = _now(clock)
    row = _load_item(session, item_id, for_update=True)
    _refuse_decided(row)
    _check_may_work(session, row, reviewer)
    if _held(row, reviewer, iso_utc(now)):
        row.claim_expires_at = iso_utc(now + timedelta(minutes=policy.claim_minutes))
        row.version += 1
        session.flush()
    else:
        _take(session, row, reviewer, now=now, policy=policy, clock=clock)
    return ReviewItemRead.of(row, codes or default_reason_codes())


def release(
    session: Session,
    *,
    item_id: str,
    reviewer: str,
    clock: Clock | None = None,
) -> ReviewItemRead:
    """Give a claimed item back to the team's queue (review.released)."""
    reviewer = _reviewer(session, reviewer)
    now = iso_utc(_now(clock))
    row = _load_item(session, item_id, for_update=True)
    _refuse_decided(row)
    if row.state != ItemState.CLAIMED.value or row.claimed_by != reviewer:
        raise NotClaimedByYou(row.id, reviewer)
    _end_claim(session, row, how="released", now=now)
    row.state = ItemState.QUEUED.value
    row.claimed_by = None
    row.claimed_at = None
    row.claim_expires_at = None
    row.version += 1
    session.flush()
    proposal = get_proposal(session, proposal_id=row.proposal_id)
    append(
        session,
        kind="review.released",
        actor=f"user:{reviewer}",
        case_id=row.case_id,
        payload={"item_id": row.id, "proposal_id": row.proposal_id, "team": row.team},
        responsible=responsible_for(proposal, guardian=row.guardian, reviewer=reviewer),
        clock=clock,
    )
    return ReviewItemRead.of(row)


def _held(row: ReviewItem, reviewer: str, now: str) -> bool:
    """Whether ``reviewer`` holds a live claim on the item; AlreadyClaimed when
    someone else does."""
    live = claim_is_live(row.state, row.claim_expires_at, now)
    if live and row.claimed_by != reviewer:
        raise AlreadyClaimed(row.id, row.claimed_by or "?", row.claim_expires_at or "?")
    return live


def _refuse_decided(row: ReviewItem) -> None:
    if row.state == ItemState.DECIDED.value:
        raise AlreadyDecided(
            row.id, row.decision or "decided", row.decided_by or "?", row.decided_at or "?"
        )


_OUTCOMES = {
    Decision.APPROVE: Outcome.APPROVED,
    Decision.EDIT: Outcome.EDITED,
    Decision.REJECT: Outcome.REJECTED,
}


def merge_case(
    session: Session,
    *,
    case_id: str,
    into: str,
    reviewer: str,
    config: ControlConfig,
    reason: str | None = None,
    clock: Clock | None = None,
) -> WorkflowRead:
    """A reviewer merges a case into another that it repeats, where no agent proposed
    it: control moves the case to 'merged' and cancels its proposals that still waited
    for a human (:func:`cogov.control.merge_case`, whose refusals apply), and their
    review items are closed (:func:`cancel_items`), so nothing on the repeat is left
    for anyone. ``reviewer`` must be an active user holding the reviewer role; an item
    of the case that another reviewer holds refuses the merge (AlreadyClaimed), as it
    would refuse their decision.
    Ledger: case.transitioned (with ``duplicate_of``), proposal.cancelled and
    review.cancelled."""
    reviewer = _reviewer(session, reviewer)
    # A proposal of the case that another reviewer holds is theirs to act on: the merge
    # waits for them, as a decision would (AlreadyClaimed).
    now = iso_utc(_now(clock))
    for proposal in proposals_for_case(session, case_id=case_id):
        row = repository.item_for_proposal(session, proposal.id)
        if row is not None and row.state in _OPEN:
            _held(row, reviewer, now)
    merged = merge_workflow(
        session, case_id=case_id, into=into, by=reviewer, reason=reason, config=config,
        clock=clock,
    )  # fmt: skip
    cancel_items(session, proposals=proposals_for_case(session, case_id=case_id), clock=clock)
    return merged


def decide(
    session: Session,
    *,
    item_id: str,
    reviewer: str,
    decision: Decision | str,
    config: ControlConfig,
    reason_code: str | None = None,
    note: str | None = None,
    new_value: str | None = None,
    policy: ReviewPolicy | None = None,
    codes: ReasonCodes | None = None,
    autonomy_policy: AutonomyPolicy | None = None,
    evaluate_autonomy: bool = True,
    clock: Clock | None = None,
) -> ReviewItemRead:
    """Decide an item: approve the proposal as made, edit it (``new_value``) or
    reject it. Edit and reject need a ``reason_code``; codes marked ``needs_note``
    (and "other") need a ``note``, kept and shown with the decision. An item nobody
    holds is claimed in the same step; one another reviewer holds is refused. The
    decision is final (AlreadyDecided afterwards) and takes effect on the case
    through control. Ledger: review.decided (and control's proposal.applied). The
    autonomy controller then looks at the agent's numbers at once (a batch replay
    may pass ``evaluate_autonomy=False`` and run ``autonomy.evaluate`` itself every
    so many decisions)."""
    policy = policy or default_policy()
    codes = codes or default_reason_codes()
    reviewer = _reviewer(session, reviewer)
    now = _now(clock)
    now_text = iso_utc(now)
    row = _load_item(session, item_id, for_update=True)
    _refuse_decided(row)
    _check_may_work(session, row, reviewer)
    proposal = get_proposal(session, proposal_id=row.proposal_id)
    try:
        checked = check_decision(
            str(decision),
            reason_code=reason_code,
            note=note,
            new_value=new_value,
            proposed_value=proposal.value,
            codes=codes,
        )
    except ValueError as exc:
        raise _invalid(exc) from None
    live = _held(row, reviewer, now_text)
    # One savepoint: a refusal from control (say, a value the process does not allow)
    # leaves neither the claim nor the decision behind.
    with session.begin_nested():
        if not live:
            _take(session, row, reviewer, now=now, policy=policy, clock=clock)
        decided = apply_human_decision(
            session,
            proposal_id=row.proposal_id,
            outcome=_OUTCOMES[checked.decision],
            reviewer=reviewer,
            config=config,
            value=checked.new_value,
            guardian=row.guardian,
            clock=clock,
        )
        if decided.action == "mark_duplicate" and decided.outcome is not Outcome.REJECTED:
            # The case may be merged now: control cancelled what else waited on it.
            cancel_items(
                session, proposals=proposals_for_case(session, case_id=row.case_id), clock=clock
            )
        _end_claim(session, row, how="decided", now=now_text)
        row.state = ItemState.DECIDED.value
        row.decision = checked.decision.past
        row.decided_by = reviewer
        row.decided_at = now_text
        row.reason_code = checked.reason_code
        row.note = checked.note
        row.final_value = decided.final_value
        row.claim_expires_at = None
        row.version += 1
        session.flush()
        append(
            session,
            kind="review.decided",
            actor=f"user:{reviewer}",
            case_id=row.case_id,
            payload={
                "item_id": row.id,
                "proposal_id": row.proposal_id,
                "action": proposal.action,
                "decision": row.decision,
                "reason_code": checked.reason_code,
                "note_sha256": sha256_hex(checked.note) if checked.note else None,
                "changed_value": checked.decision is Decision.EDIT,
                "escalated": row.escalated_to is not None,
                "overdue": row.deadline <= now_text,
            },
            responsible=responsible_for(proposal, guardian=row.guardian, reviewer=reviewer),
            clock=clock,
        )
    if evaluate_autonomy:
        autonomy.evaluate(session, agent_id=row.agent_id, policy=autonomy_policy, clock=clock)
    return ReviewItemRead.of(row, codes)


def escalate_overdue(
    session: Session,
    *,
    policy: ReviewPolicy | None = None,
    limit: int = 1_000,
    clock: Clock | None = None,
) -> list[ReviewItemRead]:
    """Escalate every undecided item past its deadline that nobody is working
    (unclaimed, or claimed and abandoned) to the agent's backup guardian, with a new
    deadline. Nothing is applied by default. Ledger: review.escalated per item."""
    policy = policy or default_policy()
    now = _now(clock)
    now_text = iso_utc(now)
    escalated: list[ReviewItemRead] = []
    for row in repository.overdue(session, now=now_text, limit=limit):
        abandoned_by = _end_claim(session, row, how="lapsed", now=now_text)
        missed = row.deadline
        row.state = ItemState.QUEUED.value
        row.claimed_by = None
        row.claimed_at = None
        row.claim_expires_at = None
        row.escalated_to = row.backup_guardian
        row.escalated_at = now_text
        row.deadline = iso_utc(now + timedelta(hours=policy.escalation_hours))
        row.version += 1
        session.flush()
        proposal = get_proposal(session, proposal_id=row.proposal_id)
        append(
            session,
            kind="review.escalated",
            actor="system:review",
            case_id=row.case_id,
            payload={
                "item_id": row.id,
                "proposal_id": row.proposal_id,
                "team": row.team,
                "to": row.backup_guardian,
                "missed_deadline": missed,
                "new_deadline": row.deadline,
                "was": "abandoned" if abandoned_by else "unclaimed",
                "abandoned_by": abandoned_by,
                # An inactive backup cannot work it: the audit and the queue page flag it.
                "backup_active": has_role(
                    session, username=row.backup_guardian, role=Role.REVIEWER
                ),
                "applied": False,
            },
            responsible=responsible_for(
                proposal, guardian=row.guardian, reviewer=row.backup_guardian
            ),
            clock=clock,
        )
        escalated.append(ReviewItemRead.of(row))
    return escalated


def get_item(session: Session, *, item_id: str, codes: ReasonCodes | None = None) -> ReviewItemRead:
    return ReviewItemRead.of(_load_item(session, item_id), codes or default_reason_codes())


def list_queue(
    session: Session,
    *,
    reviewer: str | None = None,
    team: str | None = None,
    states: Sequence[str] | None = (ItemState.QUEUED.value, ItemState.CLAIMED.value),
    agent_id: str | None = None,
    case_id: str | None = None,
    limit: int = 100,
    codes: ReasonCodes | None = None,
) -> list[ReviewItemRead]:
    """The queue, most urgent first: open items by default; with ``reviewer``, only
    those they may work or hold. A ``reviewer`` who could not claim any item is
    refused as claim refuses them (UserNotFound, UserDisabled, or MissingRole for
    a user without the reviewer role), not shown an empty queue."""
    codes = codes or default_reason_codes()
    visible = None
    if reviewer is not None:
        reviewer = _reviewer(session, reviewer)
        visible = (reviewer, repository.teams_of(session, reviewer))
    rows = repository.items(
        session,
        states=states,
        teams=[team] if team else None,
        agent_id=agent_id,
        case_id=case_id,
        visible_to=visible,
        limit=limit,
    )
    return [ReviewItemRead.of(row, codes) for row in rows]


def decisions_for_case(
    session: Session, *, case_id: str, codes: ReasonCodes | None = None
) -> list[ReviewItemRead]:
    """Every human decision on a case, with its reason and the reviewer's words."""
    return list_queue(
        session, case_id=case_id, states=(ItemState.DECIDED.value,), limit=1_000, codes=codes
    )


@dataclass(frozen=True, slots=True)
class TeamMemberRead:
    team: str
    username: str
    added_by: str
    added_at: str


def add_team_member(
    session: Session, *, team: str, username: str, by: str, clock: Clock | None = None
) -> TeamMemberRead:
    """Let a reviewer work a team's queue (an administrator's step; review.team_joined)."""
    require_role(session, username=_username("by", by), role=Role.ADMINISTRATOR)
    team_name = _team_name(team)
    member = require_role(session, username=_username("username", username), role=Role.REVIEWER)
    if repository.team_member(session, team_name, member.username) is not None:
        raise InvalidReviewInput(
            "username", f"{member.username!r} is already in team {team_name!r}"
        )
    row = ReviewTeamMember(
        team=team_name, username=member.username, added_by=by, added_at=iso_utc(_now(clock))
    )
    repository.add(session, row)
    session.flush()
    append(
        session,
        kind="review.team_joined",
        actor=f"user:{by}",
        payload={"team": team_name, "member": member.username},
        responsible=Responsible(operator=f"user:{by}"),
        clock=clock,
    )
    return TeamMemberRead(row.team, row.username, row.added_by, row.added_at)


def remove_team_member(
    session: Session, *, team: str, username: str, by: str, clock: Clock | None = None
) -> None:
    """Take a reviewer off a team's queue (review.team_left)."""
    require_role(session, username=_username("by", by), role=Role.ADMINISTRATOR)
    if repository.remove_team_member(session, team, username) == 0:
        raise InvalidReviewInput("username", f"{username!r} is not in team {team!r}")
    append(
        session,
        kind="review.team_left",
        actor=f"user:{by}",
        payload={"team": team, "member": username},
        responsible=Responsible(operator=f"user:{by}"),
        clock=clock,
    )


def list_team_members(session: Session, *, team: str | None = None) -> list[TeamMemberRead]:
    return [
        TeamMemberRead(row.team, row.username, row.added_by, row.added_at)
        for row in repository.team_members(session, team)
    ]

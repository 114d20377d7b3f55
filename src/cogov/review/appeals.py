"""Use cases of appeals. Keyword-only, take a session, never commit.

A citizen, holding their case's secret token, appeals one decision an agent
touched (a proposal the agent applied alone, or one a human decided). The appeal
goes to a human who took no part in that decision; they uphold it (the original
decision was wrong: audits and the autonomy controller count it, and the case is
re-opened per its standard process) or dismiss it, with a reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cogov.control import (
    Actor,
    ControlConfig,
    ProposalNotFound,
    ProposalState,
    get_proposal,
    get_workflow,
    transition,
)
from cogov.control.autonomy import service as autonomy
from cogov.control.autonomy.schemas import AutonomyPolicy
from cogov.core.canonical import canonical_json, sha256_hex
from cogov.core.clock import Clock, SystemClock, iso_utc
from cogov.core.ids import new_id
from cogov.core.types import Channel, Role
from cogov.identity import require_role
from cogov.intake import case_for_token
from cogov.ledger import Responsible, append
from cogov.registry import AgentNotFound, get_agent
from cogov.review import repository
from cogov.review.errors import (
    AppealAlreadyDecided,
    AppealNotFound,
    ConflictOfInterest,
    InvalidReviewInput,
    NotAppealable,
)
from cogov.review.models import Appeal
from cogov.review.rules import AppealOutcome, AppealState, check_text, participants
from cogov.review.schemas import AppealRead
from cogov.review.service import responsible_for

GROUNDS_MAX = 4_000
APPEALED = "appealed"
REOPENED = "reopened"
CLOSED = "closed"
_SYSTEM_CLOCK = SystemClock()


def _text(field: str, value: str | None) -> str:
    try:
        text = check_text(field, value, required=True, limit=GROUNDS_MAX)
    except ValueError as exc:
        field_name, _, reason = str(exc).partition(": ")
        raise InvalidReviewInput(field_name, reason) from None
    assert text is not None
    return text


def _assisted_channel(channel: Channel | str | None, entered_by: str | None) -> str | None:
    """The channel an assisted appeal came through (only staff name one)."""
    if channel is None:
        return None
    if entered_by is None:
        raise InvalidReviewInput("channel", "only an appeal staff enter names its channel")
    try:
        return Channel(str(channel)).value
    except ValueError:
        known = ", ".join(c.value for c in Channel)
        raise InvalidReviewInput("channel", f"{channel!r} is not one of {known}") from None


def _guardians(session: Session, agent_id: str) -> tuple[str | None, str | None]:
    try:
        agent = get_agent(session, agent_id=agent_id)
    except AgentNotFound:
        return None, None
    return agent.guardian, agent.backup_guardian


def _step_if_allowed(
    session: Session,
    *,
    case_id: str,
    to_state: str,
    actor: Actor,
    config: ControlConfig,
    reason: str,
    responsible: Responsible,
    clock: Clock | None,
) -> str | None:
    """Take a step of the case's standard process where the process allows it from
    where the case stands; the new state, or None when the process has no such
    step (the appeal is recorded all the same)."""
    workflow = get_workflow(session, case_id=case_id)
    process = config.processes.get(workflow.process_id)
    if process.refusal(workflow.state, to_state, actor.kind) is not None:
        return None
    transition(
        session,
        case_id=case_id,
        to_state=to_state,
        actor=actor,
        config=config,
        reason=reason,
        responsible=responsible,
        clock=clock,
    )
    return to_state


def file_appeal(
    session: Session,
    *,
    token: str,
    proposal_id: str,
    grounds: str,
    config: ControlConfig,
    entered_by: str | None = None,
    channel: Channel | str | None = None,
    clock: Clock | None = None,
) -> AppealRead:
    """File a citizen's appeal against one decision on their case. ``token`` is the
    case's secret (verified by intake against its stored hash); ``entered_by`` names
    the staff user filing it for the citizen (assisted) and ``channel`` how the
    citizen reached them (phone, counter). One appeal per decision.
    Ledger: appeal.filed (the grounds stay out of it: they may hold personal data)."""
    case = case_for_token(session, token=token)
    words = _text("grounds", grounds)
    via = _assisted_channel(channel, entered_by)
    if entered_by is not None:
        entered_by = require_role(session, username=entered_by, role=Role.REVIEWER).username
    try:
        proposal = get_proposal(session, proposal_id=proposal_id)
    except ProposalNotFound:
        raise NotAppealable(proposal_id, "there is no such decision on this case") from None
    if proposal.case_id != case.id:
        # Same words as a missing one: a token opens its own case only.
        raise NotAppealable(proposal_id, "there is no such decision on this case")
    if proposal.state is ProposalState.PENDING_REVIEW:
        raise NotAppealable(proposal_id, "it is not decided yet (a human will review it)")
    if proposal.state is ProposalState.CANCELLED:
        # Never applied and never decided by anyone (its case was merged while it
        # waited): there is no decision to find wrong. The merge itself is appealable.
        raise NotAppealable(
            proposal_id,
            "it was cancelled when its case was merged and never took effect; "
            "appeal the merge decision instead",
        )
    earlier = repository.appeal_for_proposal(session, proposal_id)
    if earlier is not None:
        raise NotAppealable(
            proposal_id, f"it is already appealed (appeal {earlier.id}, {earlier.state})"
        )
    item = repository.item_for_proposal(session, proposal_id)
    guardian: str | None
    backup: str | None
    if item is not None:
        guardian, backup = item.guardian, item.backup_guardian
        excluded = participants(
            decided_by=item.decided_by,
            claimers=repository.claimers(session, item.id),
            guardian=guardian,
            backup_guardian=backup,
            escalated_to=item.escalated_to,
        )
    else:
        guardian, backup = _guardians(session, proposal.agent_id)
        excluded = participants(
            decided_by=None,
            claimers=(),
            guardian=guardian,
            backup_guardian=backup,
            escalated_to=None,
        )
    if entered_by is not None:
        # Who filed it for the citizen speaks for one side: they do not judge it either.
        excluded.setdefault(entered_by, "filed the appeal for the citizen")
    now = iso_utc((clock or _SYSTEM_CLOCK).now())
    row = Appeal(
        id=new_id(),
        case_id=case.id,
        proposal_id=proposal_id,
        review_item_id=item.id if item is not None else None,
        agent_id=proposal.agent_id,
        grounds=words,
        entered_by=entered_by,
        filed_at=now,
        excluded=canonical_json(excluded),
        state=AppealState.FILED.value,
        version=1,
    )
    try:
        with session.begin_nested():
            repository.add(session, row)
    except IntegrityError:
        # A concurrent appeal of the same decision won the race.
        raise NotAppealable(proposal_id, "it is already appealed") from None
    citizen = Actor.citizen(case.id)
    actor = f"user:{entered_by}" if entered_by else citizen.ledger_actor
    responsible = responsible_for(proposal, guardian=guardian)
    moved_to = _step_if_allowed(
        session,
        case_id=case.id,
        to_state=APPEALED,
        actor=citizen,
        config=config,
        reason=f"appeal {row.id} filed",
        responsible=responsible,
        clock=clock,
    )
    append(
        session,
        kind="appeal.filed",
        actor=actor,
        case_id=case.id,
        payload={
            "appeal_id": row.id,
            "proposal_id": proposal_id,
            "review_item_id": row.review_item_id,
            "agent_id": proposal.agent_id,
            "action": proposal.action,
            "decided_by": "human" if proposal.state is ProposalState.DECIDED else "agent",
            "grounds_sha256": sha256_hex(words),
            "grounds_length": len(words),
            "assisted": entered_by is not None,
            "channel": via,
            "excluded_deciders": sorted(excluded),
            "case_state": moved_to,
        },
        responsible=responsible,
        clock=clock,
    )
    return AppealRead.of(row)


def decide_appeal(
    session: Session,
    *,
    appeal_id: str,
    by: str,
    outcome: AppealOutcome | str,
    reason: str,
    config: ControlConfig,
    autonomy_policy: AutonomyPolicy | None = None,
    clock: Clock | None = None,
) -> AppealRead:
    """Uphold or dismiss an appeal, with a reason. ``by`` must be an active
    reviewer who took no part in the original decision (ConflictOfInterest names
    their part). Upheld: the original decision is marked wrong and the case is
    re-opened per its process; dismissed: an appealed case is closed again.
    Ledger: appeal.decided. The autonomy controller looks at the agent at once."""
    try:
        result = AppealOutcome(str(outcome))
    except ValueError:
        raise InvalidReviewInput(
            "outcome", f"{outcome!r} is not one of upheld, dismissed"
        ) from None
    words = _text("reason", reason)
    decider = require_role(session, username=by, role=Role.REVIEWER).username
    row = repository.appeal(session, appeal_id, for_update=True)
    if row is None:
        raise AppealNotFound(appeal_id)
    if row.state == AppealState.DECIDED.value:
        raise AppealAlreadyDecided(row.id, row.outcome or "decided", row.decided_by or "?")
    excluded = AppealRead.of(row).excluded
    if decider in excluded:
        raise ConflictOfInterest(row.id, decider, excluded[decider])
    proposal = get_proposal(session, proposal_id=row.proposal_id)
    now = iso_utc((clock or _SYSTEM_CLOCK).now())
    row.state = AppealState.DECIDED.value
    row.outcome = result.value
    row.decided_by = decider
    row.decided_at = now
    row.reason = words
    row.version += 1
    session.flush()
    responsible = responsible_for(proposal, guardian=_guardian_of(session, row), reviewer=decider)
    # Upheld: the case opens again. Dismissed: an appealed case closes again.
    if result is AppealOutcome.UPHELD:
        target: str | None = REOPENED
    else:
        target = CLOSED if get_workflow(session, case_id=row.case_id).state == APPEALED else None
    moved_to = None
    if target is not None:
        moved_to = _step_if_allowed(
            session,
            case_id=row.case_id,
            to_state=target,
            actor=Actor.human(decider),
            config=config,
            reason=f"appeal {row.id} {result.value}",
            responsible=responsible,
            clock=clock,
        )
    append(
        session,
        kind="appeal.decided",
        actor=f"user:{decider}",
        case_id=row.case_id,
        payload={
            "appeal_id": row.id,
            "proposal_id": row.proposal_id,
            "agent_id": row.agent_id,
            "outcome": result.value,
            "original_decision_wrong": result is AppealOutcome.UPHELD,
            "reason_sha256": sha256_hex(words),
            "case_state": moved_to,
        },
        responsible=responsible,
        clock=clock,
    )
    if result is AppealOutcome.UPHELD:
        autonomy.evaluate(session, agent_id=row.agent_id, policy=autonomy_policy, clock=clock)
    return AppealRead.of(row)


def _guardian_of(session: Session, row: Appeal) -> str | None:
    if row.review_item_id is not None:
        item = repository.item(session, row.review_item_id)
        if item is not None:
            return item.guardian
    return _guardians(session, row.agent_id)[0]


def get_appeal(session: Session, *, appeal_id: str) -> AppealRead:
    row = repository.appeal(session, appeal_id)
    if row is None:
        raise AppealNotFound(appeal_id)
    return AppealRead.of(row)


def list_appeals(
    session: Session,
    *,
    states: Sequence[str] | None = (AppealState.FILED.value,),
    case_id: str | None = None,
    case_ids: Sequence[str] | None = None,
    agent_id: str | None = None,
    eligible: str | None = None,
    limit: int | None = 100,
) -> list[AppealRead]:
    """Appeals, oldest first (open ones by default), at most ``limit`` (None: all);
    with ``eligible``, only those that user may decide (they took no part in the
    original decision). ``case_ids``: the appeals on any of these cases, read in
    batches of ids, so a page of cases costs the same few queries whatever its size."""
    rows = [
        AppealRead.of(row)
        for row in repository.appeals(
            session,
            states=states,
            case_id=case_id,
            case_ids=case_ids,
            agent_id=agent_id,
            limit=limit,
        )
    ]
    if eligible is not None:
        rows = [appeal for appeal in rows if eligible not in appeal.excluded]
    return rows


def appeals_for_token(session: Session, *, token: str) -> list[AppealRead]:
    """A citizen's own appeals (their token opens their case only)."""
    case = case_for_token(session, token=token)
    return list_appeals(session, states=None, case_id=case.id, limit=1_000)

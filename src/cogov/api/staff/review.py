"""The human review queue (/api/v1/review): list, claim, approve, edit, reject.

Reviewers work the items of their teams and of the agents they guard; the review
package decides who may work which item (and on PostgreSQL claims with FOR UPDATE
SKIP LOCKED, so two reviewers never get the same item). Administrators and auditors
may look at the queue; only reviewers decide. A decision is final."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from cogov.api.auth import NotPermitted, Principal, require_roles
from cogov.api.deps import ClockDep, DbSession, app_state
from cogov.api.errors import responses
from cogov.control import get_proposal
from cogov.core.types import Role
from cogov.identity.rules import USERNAME_PATTERN
from cogov.intake import get_case
from cogov.review import (
    Decision,
    ItemState,
    ReviewItemRead,
    claim,
    claim_next,
    decide,
    decisions_for_case,
    get_item,
    list_queue,
    merge_case,
    reason_codes_for,
    release,
)

router = APIRouter(prefix="/api/v1/review", tags=["review"])

Reviewing = Annotated[Principal, Depends(require_roles(Role.REVIEWER))]
Overseeing = Annotated[
    Principal, Depends(require_roles(Role.REVIEWER, Role.ADMINISTRATOR, Role.AUDITOR))
]


class ProposalOut(BaseModel):
    id: str
    agent_id: str
    agent_version: str
    action: str
    value: str
    confidence: float
    threshold: float
    ai_drafted: bool
    explanation: dict[str, Any] = Field(description="Summary, evidence and alternatives.")
    verdict: str
    verdict_by: str
    reasons: list[dict[str, Any]]
    state: str
    outcome: str | None
    final_value: str | None


class CaseOut(BaseModel):
    """The case as a reviewer sees it: never contact details."""

    id: str
    service_code: str
    description: str
    language: str | None
    channel: str
    address_string: str | None
    latitude: float | None
    longitude: float | None
    received_at: str
    assisted: bool


class ReviewItemDetail(BaseModel):
    item: ReviewItemRead
    proposal: ProposalOut
    case: CaseOut


class ReasonCodeOut(BaseModel):
    code: str
    applies_to: list[str]
    label_en: str
    label_zh: str
    needs_note: bool


class ClaimNextIn(BaseModel):
    team: str | None = Field(default=None, max_length=100)


class ApproveIn(BaseModel):
    note: str | None = Field(default=None, max_length=4000)


class EditIn(BaseModel):
    new_value: str = Field(min_length=1, max_length=4000)
    reason_code: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=4000)


class MergeIn(BaseModel):
    into: str = Field(
        min_length=1, max_length=64, description="The case this one repeats (not itself merged)."
    )
    reason: str | None = Field(
        default=None, max_length=4000, description="Why, kept in the ledger entry."
    )


class MergedCaseOut(BaseModel):
    case_id: str
    state: str = Field(description="'merged'.")
    duplicate_of: str
    updated_at: str
    version: int


class RejectIn(BaseModel):
    reason_code: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=4000)


@router.get(
    "/queue",
    response_model=list[ReviewItemRead],
    summary="The queue, most urgent first (a reviewer sees the items they may work)",
    responses=responses(401, 403, 422),
)
def queue(
    who: Overseeing,
    session: DbSession,
    team: Annotated[str | None, Query(max_length=100)] = None,
    state: Annotated[list[ItemState] | None, Query(description="Default: queued, claimed.")] = None,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    case_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    reviewer: Annotated[
        str | None,
        Query(
            pattern=USERNAME_PATTERN.pattern,
            description="Only the items this reviewer may work or holds; administrators "
            "and auditors may name any reviewer, a reviewer only themself. A user "
            "without the reviewer role is refused (403), as claiming is.",
        ),
    ] = None,
) -> list[ReviewItemRead]:
    # Oversight (administrators, auditors) sees every item; a reviewer their own work.
    overseer = who.holds(Role.ADMINISTRATOR, Role.AUDITOR)
    if reviewer is not None and not overseer and reviewer != who.username:
        raise NotPermitted("reviewer: a reviewer may list only their own queue")
    if reviewer is None and not overseer:
        reviewer = who.username
    return list_queue(
        session,
        reviewer=reviewer,
        team=team,
        states=[s.value for s in state] if state else (ItemState.QUEUED, ItemState.CLAIMED),
        agent_id=agent_id,
        case_id=case_id,
        limit=limit,
    )


@router.get(
    "/reason-codes",
    response_model=list[ReasonCodeOut],
    summary="The reasons a reviewer may give for an edit or a rejection",
    responses=responses(401, 403),
)
def reason_codes(_who: Overseeing, request: Request) -> list[ReasonCodeOut]:
    codes = reason_codes_for(app_state(request).settings)
    return [
        ReasonCodeOut(
            code=code.code,
            applies_to=sorted(decision.value for decision in code.applies_to),
            label_en=code.label.en,
            label_zh=code.label.zh,
            needs_note=code.needs_note,
        )
        for code in codes.codes
    ]


@router.get(
    "/items/{item_id}",
    response_model=ReviewItemDetail,
    summary="One item with the proposal's explanation and evidence, and the case",
    responses=responses(401, 403, 404),
)
def item(item_id: str, _who: Overseeing, session: DbSession) -> ReviewItemDetail:
    found = get_item(session, item_id=item_id)
    proposal = get_proposal(session, proposal_id=found.proposal_id)
    case = get_case(session, case_id=found.case_id)
    return ReviewItemDetail(
        item=found,
        proposal=ProposalOut(
            id=proposal.id,
            agent_id=proposal.agent_id,
            agent_version=proposal.agent_version,
            action=proposal.action,
            value=proposal.value,
            confidence=proposal.confidence,
            threshold=proposal.threshold,
            ai_drafted=proposal.ai_drafted,
            explanation=proposal.explanation,
            verdict=proposal.verdict.value,
            verdict_by=proposal.verdict_by,
            reasons=proposal.reasons,
            state=proposal.state.value,
            outcome=proposal.outcome.value if proposal.outcome else None,
            final_value=proposal.final_value,
        ),
        case=CaseOut(
            id=case.id,
            service_code=case.service_code,
            description=case.description,
            language=case.language,
            channel=case.channel.value,
            address_string=case.address_string,
            latitude=case.latitude,
            longitude=case.longitude,
            received_at=case.received_at,
            assisted=case.assisted,
        ),
    )


@router.get(
    "/cases/{case_id}/decisions",
    response_model=list[ReviewItemRead],
    summary="Every human decision on a case, with its reason and the reviewer's words",
    responses=responses(401, 403),
)
def case_decisions(case_id: str, _who: Overseeing, session: DbSession) -> list[ReviewItemRead]:
    return decisions_for_case(session, case_id=case_id)


@router.post(
    "/claim-next",
    response_model=ReviewItemRead,
    summary="Claim the most urgent item you may work (404 when there is none)",
    responses=responses(401, 403, 404, 422),
)
def take_next(
    body: ClaimNextIn, who: Reviewing, session: DbSession, clock: ClockDep
) -> ReviewItemRead:
    return claim_next(session, reviewer=who.username, team=body.team, clock=clock)


@router.post(
    "/items/{item_id}/claim",
    response_model=ReviewItemRead,
    summary="Claim one item",
    responses=responses(401, 403, 404, 409),
)
def take(item_id: str, who: Reviewing, session: DbSession, clock: ClockDep) -> ReviewItemRead:
    return claim(session, item_id=item_id, reviewer=who.username, clock=clock)


@router.post(
    "/items/{item_id}/release",
    response_model=ReviewItemRead,
    summary="Give a claimed item back to the queue",
    responses=responses(401, 403, 404, 409),
)
def give_back(item_id: str, who: Reviewing, session: DbSession, clock: ClockDep) -> ReviewItemRead:
    return release(session, item_id=item_id, reviewer=who.username, clock=clock)


def _decide(
    request: Request,
    session: DbSession,
    who: Principal,
    item_id: str,
    decision: Decision,
    *,
    reason_code: str | None = None,
    note: str | None = None,
    new_value: str | None = None,
) -> ReviewItemRead:
    state = app_state(request)
    return decide(
        session,
        item_id=item_id,
        reviewer=who.username,
        decision=decision,
        config=state.control,
        reason_code=reason_code,
        note=note,
        new_value=new_value,
        clock=state.clock,
    )


@router.post(
    "/items/{item_id}/approve",
    response_model=ReviewItemRead,
    summary="Approve the proposal as made (final)",
    responses=responses(401, 403, 404, 409, 422),
)
def approve(
    item_id: str, body: ApproveIn, who: Reviewing, request: Request, session: DbSession
) -> ReviewItemRead:
    return _decide(request, session, who, item_id, Decision.APPROVE, note=body.note)


@router.post(
    "/items/{item_id}/edit",
    response_model=ReviewItemRead,
    summary="Apply another value instead, with a reason code (final)",
    responses=responses(401, 403, 404, 409, 422),
)
def edit(
    item_id: str, body: EditIn, who: Reviewing, request: Request, session: DbSession
) -> ReviewItemRead:
    return _decide(
        request,
        session,
        who,
        item_id,
        Decision.EDIT,
        reason_code=body.reason_code,
        note=body.note,
        new_value=body.new_value,
    )


@router.post(
    "/items/{item_id}/reject",
    response_model=ReviewItemRead,
    summary="Reject the proposal, with a reason code (final)",
    responses=responses(401, 403, 404, 409, 422),
)
def reject(
    item_id: str, body: RejectIn, who: Reviewing, request: Request, session: DbSession
) -> ReviewItemRead:
    return _decide(
        request,
        session,
        who,
        item_id,
        Decision.REJECT,
        reason_code=body.reason_code,
        note=body.note,
    )


@router.post(
    "/cases/{case_id}/merge",
    response_model=MergedCaseOut,
    summary="Merge a case into another it repeats, where no agent proposed it (final)",
    description=(
        "The case takes its process's way to 'merged' as a human, with `duplicate_of` "
        "set; its proposals still waiting for a human are cancelled and their review "
        "items closed. 404 for an unknown case. 422 names the field: `into` empty, the "
        "case itself, unknown, itself merged (merge into the case it repeats), or the case "
        "has repeats merged into it (merge the other way); 409 where the process has no "
        "way to 'merged' from where the case stands (already merged, say) or another "
        "reviewer holds one of the case's review items."
    ),
    responses=responses(401, 403, 404, 409, 422),
)
def merge(
    case_id: str, body: MergeIn, who: Reviewing, request: Request, session: DbSession
) -> MergedCaseOut:
    state = app_state(request)
    merged = merge_case(
        session,
        case_id=case_id,
        into=body.into,
        reviewer=who.username,
        config=state.control,
        reason=body.reason,
        clock=state.clock,
    )
    return MergedCaseOut(
        case_id=merged.case_id,
        state=merged.state,
        duplicate_of=merged.duplicate_of or "",
        updated_at=merged.updated_at,
        version=merged.version,
    )

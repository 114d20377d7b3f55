"""Citizens' appeals for staff (/api/v1/appeals): the list, one appeal, the decision
by someone who took no part in the original one, and an appeal entered for a
citizen at a counter or on the phone (with the citizen's token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, Field

from cogov.api.auth import Principal, require_roles
from cogov.api.deps import DbSession, app_state
from cogov.api.errors import responses
from cogov.core.types import Role
from cogov.review import AppealOutcome, AppealRead, AppealState, decide_appeal, file_appeal
from cogov.review import get_appeal as find_appeal
from cogov.review import list_appeals as find_appeals

router = APIRouter(prefix="/api/v1/appeals", tags=["appeals"])

Reviewing = Annotated[Principal, Depends(require_roles(Role.REVIEWER))]
Overseeing = Annotated[
    Principal, Depends(require_roles(Role.REVIEWER, Role.ADMINISTRATOR, Role.AUDITOR))
]


class AppealOut(BaseModel):
    id: str
    case_id: str
    proposal_id: str
    review_item_id: str | None
    agent_id: str
    grounds: str
    entered_by: str | None
    filed_at: str
    excluded: dict[str, str] = Field(
        description="Who took part in the original decision (and so may not decide this)."
    )
    state: str
    outcome: str | None
    decided_by: str | None
    decided_at: str | None
    reason: str | None
    version: int


class DecideIn(BaseModel):
    outcome: AppealOutcome
    reason: str = Field(min_length=1, max_length=4000)


class AssistedAppealIn(BaseModel):
    token: str = Field(min_length=1, max_length=200, description="The citizen's secret token.")
    proposal_id: str = Field(min_length=1, max_length=64, description="The decision appealed.")
    grounds: str = Field(min_length=1, max_length=4000)


def appeal_out(appeal: AppealRead) -> AppealOut:
    return AppealOut(
        id=appeal.id,
        case_id=appeal.case_id,
        proposal_id=appeal.proposal_id,
        review_item_id=appeal.review_item_id,
        agent_id=appeal.agent_id,
        grounds=appeal.grounds,
        entered_by=appeal.entered_by,
        filed_at=appeal.filed_at,
        excluded=dict(appeal.excluded),
        state=appeal.state,
        outcome=appeal.outcome,
        decided_by=appeal.decided_by,
        decided_at=appeal.decided_at,
        reason=appeal.reason,
        version=appeal.version,
    )


@router.get(
    "",
    response_model=list[AppealOut],
    summary="Appeals, oldest first (open ones by default); ?eligible=true: those you may decide",
    responses=responses(401, 403, 422),
)
def list_appeals(
    who: Overseeing,
    session: DbSession,
    state: Annotated[list[AppealState] | None, Query(description="Default: filed.")] = None,
    case_id: Annotated[str | None, Query(max_length=64)] = None,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    eligible: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AppealOut]:
    found = find_appeals(
        session,
        states=[s.value for s in state] if state else (AppealState.FILED.value,),
        case_id=case_id,
        agent_id=agent_id,
        eligible=who.username if eligible else None,
        limit=limit,
    )
    return [appeal_out(appeal) for appeal in found]


@router.get(
    "/{appeal_id}",
    response_model=AppealOut,
    summary="One appeal",
    responses=responses(401, 403, 404),
)
def get_appeal(appeal_id: str, _who: Overseeing, session: DbSession) -> AppealOut:
    return appeal_out(find_appeal(session, appeal_id=appeal_id))


@router.post(
    "/{appeal_id}/decide",
    response_model=AppealOut,
    summary="Uphold or dismiss (only someone who took no part in the original decision)",
    responses=responses(401, 403, 404, 409, 422),
)
def decide(
    appeal_id: str, body: DecideIn, who: Reviewing, request: Request, session: DbSession
) -> AppealOut:
    state = app_state(request)
    decided = decide_appeal(
        session,
        appeal_id=appeal_id,
        by=who.username,
        outcome=body.outcome,
        reason=body.reason,
        config=state.control,
        clock=state.clock,
    )
    return appeal_out(decided)


@router.post(
    "",
    response_model=AppealOut,
    status_code=status.HTTP_201_CREATED,
    summary="Enter an appeal for a citizen (assisted: counter or phone), with their token",
    responses=responses(401, 403, 404, 409, 422),
)
def assisted_appeal(
    body: AssistedAppealIn, who: Reviewing, request: Request, session: DbSession
) -> AppealOut:
    state = app_state(request)
    filed = file_appeal(
        session,
        token=body.token,
        proposal_id=body.proposal_id,
        grounds=body.grounds,
        config=state.control,
        entered_by=who.username,
        clock=state.clock,
    )
    return appeal_out(filed)

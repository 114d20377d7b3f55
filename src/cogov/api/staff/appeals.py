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


class DecideIn(BaseModel):
    outcome: AppealOutcome
    reason: str = Field(min_length=1, max_length=4000)


class AssistedAppealIn(BaseModel):
    token: str = Field(min_length=1, max_length=200, description="The citizen's secret token.")
    proposal_id: str = Field(min_length=1, max_length=64, description="The decision appealed.")
    grounds: str = Field(min_length=1, max_length=4000)


@router.get(
    "",
    response_model=list[AppealRead],
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
) -> list[AppealRead]:
    return find_appeals(
        session,
        states=[s.value for s in state] if state else (AppealState.FILED.value,),
        case_id=case_id,
        agent_id=agent_id,
        eligible=who.username if eligible else None,
        limit=limit,
    )


@router.get(
    "/{appeal_id}",
    response_model=AppealRead,
    summary="One appeal",
    responses=responses(401, 403, 404),
)
def get_appeal(appeal_id: str, _who: Overseeing, session: DbSession) -> AppealRead:
    return find_appeal(session, appeal_id=appeal_id)


@router.post(
    "/{appeal_id}/decide",
    response_model=AppealRead,
    summary="Uphold or dismiss (only someone who took no part in the original decision)",
    responses=responses(401, 403, 404, 409, 422),
)
def decide(
    appeal_id: str, body: DecideIn, who: Reviewing, request: Request, session: DbSession
) -> AppealRead:
    state = app_state(request)
    return decide_appeal(
        session,
        appeal_id=appeal_id,
        by=who.username,
        outcome=body.outcome,
        reason=body.reason,
        config=state.control,
        clock=state.clock,
    )


@router.post(
    "",
    response_model=AppealRead,
    status_code=status.HTTP_201_CREATED,
    summary="Enter an appeal for a citizen (assisted: counter or phone), with their token",
    responses=responses(401, 403, 404, 409, 422),
)
def assisted_appeal(
    body: AssistedAppealIn, who: Reviewing, request: Request, session: DbSession
) -> AppealRead:
    state = app_state(request)
    return file_appeal(
        session,
        token=body.token,
        proposal_id=body.proposal_id,
        grounds=body.grounds,
        config=state.control,
        entered_by=who.username,
        clock=state.clock,
    )

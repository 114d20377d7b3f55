"""The registry of digital employees (/api/v1/registry): filings, lifecycle steps,
guardians and the kill switch. Every step is the registry's own use case; this
module only checks who may call it and turns answers into JSON."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field

from cogov.api.auth import Principal, require_roles
from cogov.api.deps import ClockDep, DbSession, ReadSession, SettingsDep
from cogov.api.errors import responses
from cogov.control.autonomy import AutonomyPolicy, RegisterEntryWithAutonomy, register_with_autonomy
from cogov.core.errors import ValidationFailed
from cogov.core.types import Role
from cogov.registry import (
    AgentRead,
    FilingRead,
    HistoryEvent,
    activate,
    approve,
    assign_guardians,
    file_agent,
    get_agent,
    get_filing,
    history,
    list_agents,
    list_filings,
    load_filing_text,
    parse_filing,
    pause_agent,
    resume_agent,
    retire,
    submit,
    suspend,
)

router = APIRouter(prefix="/api/v1/registry", tags=["registry"])

StaffReading = Annotated[
    Principal,
    Depends(require_roles(Role.ADMINISTRATOR, Role.REVIEWER, Role.AUDITOR, Role.FIELD_STAFF)),
]
Administering = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR))]
# Guardians are reviewers named on the filing; the registry checks the name itself.
KillSwitch = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR, Role.REVIEWER))]

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")


class Step(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    ACTIVATE = "activate"
    SUSPEND = "suspend"
    RETIRE = "retire"


_STEPS = {
    Step.SUBMIT: submit,
    Step.APPROVE: approve,
    Step.ACTIVATE: activate,
    Step.SUSPEND: suspend,
    Step.RETIRE: retire,
}


class TransitionIn(BaseModel):
    step: Step
    reason: str = Field(min_length=1, max_length=2000)
    version: int | None = Field(default=None, ge=1, description="Default: the latest version.")


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class GuardiansIn(BaseModel):
    guardian: str = Field(min_length=1, max_length=64)
    backup_guardian: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)


@router.get(
    "/public",
    response_model=list[RegisterEntryWithAutonomy],
    summary="The public register: plain-language facts on every active agent, with its "
    "autonomy now and the measures the controller watches (no sign-in)",
)
def register(
    session: ReadSession, settings: SettingsDep, clock: ClockDep
) -> list[RegisterEntryWithAutonomy]:
    return register_with_autonomy(
        session, policy=AutonomyPolicy.from_settings(settings), clock=clock
    )


@router.get(
    "/agents",
    response_model=list[AgentRead],
    summary="Every filed agent with its latest filing",
    responses=responses(401, 403),
)
def agents(_who: StaffReading, session: DbSession) -> list[AgentRead]:
    return list_agents(session)


@router.get(
    "/agents/{agent_id}",
    response_model=AgentRead,
    summary="One agent: guardians, pause state, latest filing",
    responses=responses(401, 403, 404),
)
def agent(agent_id: str, _who: StaffReading, session: DbSession) -> AgentRead:
    return get_agent(session, agent_id=agent_id)


@router.get(
    "/agents/{agent_id}/filings",
    response_model=list[FilingRead],
    summary="Every version of an agent's filing, oldest first",
    responses=responses(401, 403, 404),
)
def filings(agent_id: str, _who: StaffReading, session: DbSession) -> list[FilingRead]:
    return list_filings(session, agent_id=agent_id)


@router.get(
    "/agents/{agent_id}/filings/{version}",
    response_model=FilingRead,
    summary="One version of an agent's filing",
    responses=responses(401, 403, 404),
)
def filing(agent_id: str, version: int, _who: StaffReading, session: DbSession) -> FilingRead:
    return get_filing(session, agent_id=agent_id, version=version)


@router.get(
    "/agents/{agent_id}/history",
    response_model=list[HistoryEvent],
    summary="Every lifecycle step, guardian change and pause, oldest first",
    responses=responses(401, 403, 404),
)
def agent_history(agent_id: str, _who: StaffReading, session: DbSession) -> list[HistoryEvent]:
    return history(session, agent_id=agent_id)


async def _read_body(request: Request) -> tuple[str, str]:
    """The request's media type and its text (the body is read off the event loop's
    way here so the route itself runs in the thread pool with the database)."""
    content_type = request.headers.get("content-type", "application/json").split(";")[0]
    try:
        return content_type.strip().lower(), (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("body", "must be UTF-8 text") from None


@router.post(
    "/filings",
    response_model=FilingRead,
    status_code=status.HTTP_201_CREATED,
    summary="File an agent (a new version when it exists): JSON, or the YAML filing file",
    responses=responses(401, 403, 409, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
def file_filing(
    body: Annotated[tuple[str, str], Depends(_read_body)],
    who: Administering,
    session: DbSession,
    clock: ClockDep,
) -> FilingRead:
    content_type, text = body
    document = load_filing_text(text) if content_type in YAML_TYPES else parse_filing(_json(text))
    return file_agent(session, document=document, by=who.username, clock=clock)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed("body", f"not valid JSON: {exc.msg} at line {exc.lineno}") from None


@router.post(
    "/agents/{agent_id}/transitions",
    response_model=FilingRead,
    summary="Take a lifecycle step: submit, approve, activate, suspend or retire",
    responses=responses(401, 403, 404, 409, 422),
)
def transition(
    agent_id: str, body: TransitionIn, who: Administering, session: DbSession, clock: ClockDep
) -> FilingRead:
    step = _STEPS[body.step]
    return step(
        session,
        agent_id=agent_id,
        by=who.username,
        reason=body.reason,
        version=body.version,
        clock=clock,
    )


@router.put(
    "/agents/{agent_id}/guardians",
    response_model=AgentRead,
    summary="Put a new guardian and backup guardian on duty",
    responses=responses(401, 403, 404, 409, 422),
)
def guardians(
    agent_id: str, body: GuardiansIn, who: Administering, session: DbSession, clock: ClockDep
) -> AgentRead:
    return assign_guardians(
        session,
        agent_id=agent_id,
        guardian=body.guardian,
        backup_guardian=body.backup_guardian,
        by=who.username,
        reason=body.reason,
        clock=clock,
    )


@router.post(
    "/agents/{agent_id}/pause",
    response_model=AgentRead,
    summary="Kill switch: the agent stops acting at once (its guardians or an administrator)",
    responses=responses(401, 403, 404, 409, 422),
)
def pause(
    agent_id: str, body: ReasonIn, who: KillSwitch, session: DbSession, clock: ClockDep
) -> AgentRead:
    return pause_agent(session, agent_id=agent_id, by=who.username, reason=body.reason, clock=clock)


@router.post(
    "/agents/{agent_id}/resume",
    response_model=AgentRead,
    summary="Let a paused agent act again (its guardians or an administrator)",
    responses=responses(401, 403, 404, 409, 422),
)
def resume(
    agent_id: str, body: ReasonIn, who: KillSwitch, session: DbSession, clock: ClockDep
) -> AgentRead:
    return resume_agent(
        session, agent_id=agent_id, by=who.username, reason=body.reason, clock=clock
    )

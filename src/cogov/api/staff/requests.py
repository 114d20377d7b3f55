"""Requests entered by staff for a citizen (/api/v1/requests): at a counter or on the
phone. Recorded as assisted entry, with the staff member named, so audits can see
who reaches the agency through which door."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, status
from pydantic import BaseModel, Field

from cogov.api.auth import Principal, require_roles
from cogov.api.deps import DbSession, app_state
from cogov.api.errors import responses
from cogov.api.open311.records import receive
from cogov.core.types import Channel, Role

router = APIRouter(prefix="/api/v1/requests", tags=["requests"])

Entering = Annotated[
    Principal, Depends(require_roles(Role.FIELD_STAFF, Role.REVIEWER, Role.ADMINISTRATOR))
]


class AssistedRequestIn(BaseModel):
    """The Open311 fields, plus how the citizen reached the agency, their language,
    and the group attributes the agency records (intake checks every field)."""

    service_code: str
    description: str
    channel: Channel = Field(default=Channel.COUNTER, description="phone, counter, ...")
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    media_url: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    attribute: dict[str, str | list[str]] = Field(default_factory=dict)
    language: str | None = None
    group: dict[str, str | bool] = Field(default_factory=dict)


class AssistedRequestOut(BaseModel):
    service_request_id: str
    citizen_token: str = Field(description="Give it to the citizen: shown once.")
    replayed: bool


@router.post(
    "",
    response_model=AssistedRequestOut,
    status_code=status.HTTP_201_CREATED,
    summary="Enter a request for a citizen (assisted entry: counter, phone)",
    responses=responses(401, 403, 409, 422),
)
def enter_request(
    body: AssistedRequestIn,
    who: Entering,
    request: Request,
    session: DbSession,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> AssistedRequestOut:
    fields: dict[str, Any] = body.model_dump(exclude_none=True)
    submission = receive(
        session,
        app_state(request),
        fields,
        idempotency_key=idempotency_key,
        entered_by=who.username,
    )
    return AssistedRequestOut(
        service_request_id=submission.case.id,
        citizen_token=submission.citizen_token,
        replayed=submission.replayed,
    )

"""Open311 GeoReport v2 records as Pydantic models, so the OpenAPI schema shows them.

The ``cogov`` key on a record is cogov's extension; plain clients ignore it (and on
GET it is only present with ``?extensions=true``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str = Field(description="realtime: the request id comes back at once.")
    keywords: str
    group: str


class AttributeValue(BaseModel):
    key: str
    name: str


class ServiceAttribute(BaseModel):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[ServiceAttribute]


class CitizenAccess(BaseModel):
    """cogov extension on POST: the citizen's secret token, shown once. With it (and
    the request id) the citizen follows, appeals and rates their own request."""

    citizen_token: str
    replayed: bool = Field(description="An earlier identical POST with this Idempotency-Key.")


class PostedRequest(BaseModel):
    service_request_id: str
    service_notice: str | None
    account_id: str | None
    cogov: CitizenAccess


class AgentOutput(BaseModel):
    """One thing an AI agent proposed for the request, as the public sees it."""

    proposal_id: str = Field(description="Name it to appeal the decision.")
    agent_id: str
    agent_version: str
    action: str
    label: str = Field(
        description="'AI-drafted' or 'AI-suggested', and who decided (or that it waits for "
        "a human, or was withdrawn), in the language of summary (summary_language); "
        "ai_drafted, state and outcome say the same for machines."
    )
    ai_drafted: bool = Field(description="True for a text an agent drafted, else a suggestion.")
    state: str = Field(
        description="pending_review (waits for a human), applied (by the agent), decided "
        "(by a human) or cancelled (withdrawn: the request was merged into another, so "
        "it will not take effect and nobody decides it)."
    )
    outcome: str | None = Field(
        description="applied (by the agent), approved, edited or rejected (by a human); "
        "null while it waits for a human (state pending_review) and when it was withdrawn "
        "(state cancelled)."
    )
    explanation: dict[str, Any] = Field(
        description="The engine's own explanation (summary and evidence labels in English: "
        "the record) and its evidence's structured data."
    )
    summary: str = Field(
        description="The explanation worded from its structured data in the language "
        "asked for (lang, else Accept-Language; English or Simplified Chinese). It says "
        "nothing about whether the suggestion is applied: label and outcome say that."
    )
    summary_language: str = Field(description="The BCP 47 tag of summary: en or zh-Hans.")


class RequestExtension(BaseModel):
    """cogov extension on GET (``?extensions=true``)."""

    state: str
    duplicate_of: str | None = Field(
        description="The request this one was merged into as a repeat (null unless merged)."
    )
    channel: str
    ai: list[AgentOutput]
    reply_ai_drafted: bool
    appeal: dict[str, Any] | None
    rating: dict[str, Any] | None


class ServiceRequest(BaseModel):
    service_request_id: str
    status: str = Field(description="open or closed")
    status_notes: str | None
    service_name: str | None
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None
    cogov: RequestExtension | None = None


class TokenLookup(BaseModel):
    service_request_id: str
    token: str


class Open311Error(BaseModel):
    code: int
    description: str


class Endpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]

"""Open311 GeoReport v2 under /open311/v2/, in JSON and XML.

Plain GeoReport v2 for any client; cogov's additions are extensions: the ``cogov``
key (POST: the citizen's secret token; GET with ``?extensions=true``: the case's
state, which AI touched it with its label and explanation, appeal and rating) and
the paths under ``/open311/v2/cogov/``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cogov.api.auth import NotPermitted
from cogov.api.deps import DbSession, ReadSession, app_state
from cogov.api.errors import Problem
from cogov.api.open311 import records
from cogov.api.open311.formats import Format, errors, render
from cogov.api.open311.schemas import (
    Discovery,
    Open311Error,
    PostedRequest,
    Service,
    ServiceDefinition,
    ServiceRequest,
    TokenLookup,
)
from cogov.api.ratelimit import enforce_rate_limit
from cogov.core.clock import iso_utc
from cogov.core.errors import NotFound, ValidationFailed
from cogov.core.text import trimmed
from cogov.core.types import Channel
from cogov.identity.access import service as access
from cogov.identity.access.errors import InvalidCredentials
from cogov.identity.access.rules import secret_hash
from cogov.intake import CaseNotFound, rate_case
from cogov.review import AppealRead, appeals_for_token, file_appeal

PREFIX = "/open311/v2"
router = APIRouter(prefix=PREFIX, tags=["open311"])

# GeoReport v2: GET requests defaults to the last 90 days, at most 1000 records, and
# a start_date..end_date span may not exceed 90 days.
DEFAULT_WINDOW = timedelta(days=90)
MAX_SPAN = timedelta(days=90)
MAX_REQUESTS = 1000
MAX_IDS = 1000

# Fields GeoReport v2 defines for POST requests (api_key and jurisdiction_id are read apart).
_POST_FIELDS = (
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": list[Open311Error], "description": meaning}
    for code, meaning in {
        400: "Bad input (the description names the field)",
        403: "api_key missing or not valid",
        404: "No such service, request or token",
        429: "Too many requests",
    }.items()
}


def _both_formats(model: Any) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "model": model,
            "content": {"text/xml": {"schema": {"type": "string"}}},
            "description": "JSON, or XML for the .xml suffix",
        },
        **_ERRORS,
    }


def form_body(
    *, required: list[str], properties: dict[str, str], open_ended: bool = False
) -> dict[str, Any]:
    """OpenAPI for a form-encoded body (read by hand, so FastAPI cannot describe it)."""
    schema: dict[str, Any] = {
        "type": "object",
        "required": required,
        "properties": {name: {"type": kind} for name, kind in properties.items()},
    }
    if open_ended:
        schema["additionalProperties"] = {"type": "string"}
    content = {"application/x-www-form-urlencoded": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


class Jurisdiction(ValidationFailed):
    def __init__(self, given: str) -> None:
        super().__init__("jurisdiction_id", f"{given!r} is not served by this endpoint")


class ApiKeyRefused(NotPermitted):
    """Open311's api_key is missing where required, or not valid (HTTP 403)."""


def check_jurisdiction(
    request: Request, jurisdiction_id: Annotated[str | None, Query(max_length=200)] = None
) -> None:
    served = app_state(request).settings.open311_jurisdiction_id
    if jurisdiction_id and served and jurisdiction_id != served:
        raise Jurisdiction(jurisdiction_id)


JurisdictionDep = Depends(check_jurisdiction)


def _language(request: Request, lang: str | None) -> str | None:
    """Labels in the language asked for (``?lang=zh``), else Accept-Language."""
    return lang or request.headers.get("accept-language", "en")[:16]


@router.get(
    "/discovery.{format}",
    response_model=Discovery,
    responses=_both_formats(Discovery),
    summary="Open311 service discovery",
)
def discovery(format: Format, request: Request) -> Response:
    base = str(request.base_url).rstrip("/") + PREFIX + "/"
    served = app_state(request).settings.open311_jurisdiction_id or ""
    body = {
        "changeset": "2026-01-01T00:00:00Z",
        "contact": served,
        "key_service": "api_key: an API token issued by the agency (cogov tokens issue)",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-01-01T00:00:00Z",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(format, body, root="discovery")


@router.get(
    "/services.{format}",
    response_model=list[Service],
    responses=_both_formats(list[Service]),
    summary="Every service this agency takes requests for",
    dependencies=[JurisdictionDep],
)
def list_services(
    format: Format, request: Request, lang: Annotated[str | None, Query(max_length=16)] = None
) -> Response:
    catalogue = app_state(request).intake.catalogue
    language = _language(request, lang)
    body = [service.open311(language) for service in catalogue.services]
    return render(format, body, root="services", item="service")


@router.get(
    "/services/{service_code}.{format}",
    response_model=ServiceDefinition,
    responses=_both_formats(ServiceDefinition),
    summary="A service's definition: the attributes a request may or must give",
    dependencies=[JurisdictionDep],
)
def service_definition(
    service_code: str,
    format: Format,
    request: Request,
    lang: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    service = app_state(request).intake.catalogue.get(service_code)
    if service is None:
        raise NotFound("service", service_code)
    body = service.open311_definition(_language(request, lang))
    return render(format, body, root="service_definition")


def _form_fields(form: FormData) -> dict[str, Any]:
    """GeoReport v2 form fields as intake takes them: empty fields are absent,
    ``attribute[code]=v`` and ``attribute[code][]=v`` (a multivaluelist) are gathered."""
    body: dict[str, Any] = {}
    attributes: dict[str, str | list[str]] = {}
    for key, raw in form.multi_items():
        if not isinstance(raw, str):
            raise ValidationFailed(key, "files are not accepted; give a media_url")
        value = trimmed(raw)  # a control character at an end is refused, not dropped
        if key.startswith("attribute[") and "]" in key:
            code = key[len("attribute[") : key.index("]")]
            if key.endswith("[]"):
                listed = attributes.setdefault(code, [])
                if isinstance(listed, list) and value:
                    listed.append(value)
            elif value:
                attributes[code] = value
        elif key in _POST_FIELDS and value:
            body[key] = value
    if attributes:
        body["attribute"] = attributes
    return body


async def read_form(request: Request) -> FormData:
    return await request.form()


def _post_arguments(request: Request, form: FormData, name: str) -> list[str]:
    """A POST's ``jurisdiction_id`` or ``api_key``: from the form, as the spec's example
    sends them, then from the query string, where existing clients put them (the node
    ``open311`` client sends jurisdiction_id there, Python's ``open311`` both). Blank
    values are absent; the form's value comes first."""
    given = [*form.getlist(name), *request.query_params.getlist(name)]
    return [value.strip() for value in given if isinstance(value, str) and value.strip()]


def _authenticate_api_key(request: Request, session: Session, api_key: str | None) -> str | None:
    """The username behind the api_key (None for an anonymous post)."""
    settings = app_state(request).settings
    if not api_key:
        if settings.open311_api_key_required:
            raise ApiKeyRefused("api_key is required to post requests to this endpoint")
        return None
    try:
        user, _token = access.authenticate_api_token(
            session, secret=api_key, clock=app_state(request).clock
        )
    except InvalidCredentials:
        raise ApiKeyRefused("api_key is not valid") from None
    return user.username


@router.post(
    "/requests.{format}",
    response_model=list[PostedRequest],
    responses=_both_formats(list[PostedRequest]),
    summary="Submit a service request (form-encoded, as GeoReport v2 gives it)",
    openapi_extra=form_body(
        required=["service_code"],
        properties={
            "api_key": "string",
            "jurisdiction_id": "string",
            **dict.fromkeys(_POST_FIELDS, "string"),
            "lat": "number",
            "long": "number",
        },
        open_ended=True,
    ),
)
def post_request(
    format: Format,
    request: Request,
    form: Annotated[FormData, Depends(read_form)],
    session: DbSession,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=128,
            description="cogov extension: a retry with the same key and body returns the "
            "same request instead of a second one.",
        ),
    ] = None,
) -> Response:
    state = app_state(request)
    for jurisdiction in _post_arguments(request, form, "jurisdiction_id"):
        check_jurisdiction(request, jurisdiction)
    api_key = next(iter(_post_arguments(request, form, "api_key")), None)
    # An app posting with its key has a bucket of its own; anyone else, one per address.
    enforce_rate_limit(request, key=f"api_key:{secret_hash(api_key)}" if api_key else None)
    _authenticate_api_key(request, session, api_key)
    body = _form_fields(form)
    body["channel"] = Channel.OPEN311.value
    submission = records.receive(session, state, body, idempotency_key=idempotency_key)
    record = {
        "service_request_id": submission.case.id,
        "service_notice": records.service_notice(state.intake, submission.case.service_code),
        "account_id": None,
        "cogov": {"citizen_token": submission.citizen_token, "replayed": submission.replayed},
    }
    # Commit here, in this worker thread, rather than in the unit of work's exit, which
    # runs after a hop back to the event loop and a wait for a free thread: on
    # PostgreSQL the ledger's append lock is held until commit, so every intake
    # behind this one would wait out that hop too. For the same reason the answer is
    # rendered after the commit (still before it is sent).
    session.commit()
    return render(format, [record], root="service_requests", item="request")


def _parse_when(name: str, text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(name, f"{text!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise ValidationFailed(name, "must carry a time zone (Z or an offset such as +08:00)")
    return moment.astimezone(UTC)


def _split(text: str | None, name: str, limit: int) -> list[str]:
    values = [part.strip() for part in (text or "").split(",") if part.strip()]
    if len(values) > limit:
        raise ValidationFailed(name, f"at most {limit} values")
    return values


@router.get(
    "/requests.{format}",
    response_model=list[ServiceRequest],
    responses=_both_formats(list[ServiceRequest]),
    summary="Find service requests (by ids, or by service, status and date range)",
    dependencies=[JurisdictionDep],
)
def list_requests(
    format: Format,
    request: Request,
    session: ReadSession,
    service_request_id: Annotated[
        str | None, Query(max_length=40_000, description="Comma-separated request ids.")
    ] = None,
    service_code: Annotated[
        str | None, Query(max_length=4_000, description="Comma-separated service codes.")
    ] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=40, description="open, closed or both.")] = None,
    extensions: Annotated[bool, Query(description="Add cogov's `cogov` key.")] = False,
    lang: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    ids = _split(service_request_id, "service_request_id", MAX_IDS)
    codes = _split(service_code, "service_code", 200)
    statuses = {value.lower() for value in _split(status, "status", 2)}
    if statuses - {"open", "closed"}:
        raise ValidationFailed("status", "must be open, closed, or both (comma-separated)")
    start = _parse_when("start_date", start_date)
    end = _parse_when("end_date", end_date)
    if ids:
        # Ids given: the spec says the other filters are ignored.
        start = end = None
        codes = []
        statuses = set()
    else:
        # The spec's default: the last 90 days; one end given, 90 days from it.
        if start is None and end is None:
            end = app_state(request).clock.now()
        if start is None and end is not None:
            start = end - DEFAULT_WINDOW
        elif end is None and start is not None:
            end = start + DEFAULT_WINDOW
        if start is not None and end is not None:
            if end < start:
                raise ValidationFailed("end_date", "is before start_date")
            if end - start > MAX_SPAN:
                raise ValidationFailed("end_date", "a date range may span at most 90 days")
    found = records.find_requests(
        session,
        app_state(request).intake,
        ids=ids,
        service_codes=codes,
        received_from=iso_utc(start) if start else None,
        received_to=iso_utc(end) if end else None,
        statuses=statuses,
        limit=MAX_REQUESTS,
        language=_language(request, lang),
        extensions=extensions,
    )
    return render(format, found, root="service_requests", item="request")


@router.get(
    "/requests/{service_request_id}.{format}",
    response_model=list[ServiceRequest],
    responses=_both_formats(list[ServiceRequest]),
    summary="One service request (a list of one, as GeoReport v2 gives it)",
    dependencies=[JurisdictionDep],
)
def get_request(
    service_request_id: str,
    format: Format,
    request: Request,
    session: ReadSession,
    extensions: Annotated[bool, Query(description="Add cogov's `cogov` key.")] = False,
    lang: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    found = records.find_requests(
        session,
        app_state(request).intake,
        ids=[service_request_id],
        language=_language(request, lang),
        extensions=extensions,
    )
    if not found:
        raise CaseNotFound(service_request_id)
    return render(format, found, root="service_requests", item="request")


@router.get(
    "/tokens/{token}.{format}",
    response_model=list[TokenLookup],
    responses=_both_formats(list[TokenLookup]),
    summary="The request id behind a token (cogov: the citizen's secret token)",
    dependencies=[JurisdictionDep],
)
def token_lookup(token: str, format: Format, session: ReadSession) -> Response:
    case = records.case_for_citizen_token(session, token)
    body = [{"service_request_id": case.id, "token": token}]
    return render(format, body, root="service_requests", item="request")


# --- cogov extensions: the citizen follows and appeals with their secret token ---------


class CitizenAppeal(BaseModel):
    id: str
    service_request_id: str
    proposal_id: str
    state: str
    outcome: str | None
    filed_at: str
    decided_at: str | None
    reason: str | None = Field(description="Why the appeal was upheld or dismissed.")


class FollowedRequest(BaseModel):
    request: ServiceRequest
    appeals: list[CitizenAppeal]


def _citizen_appeal(appeal: AppealRead) -> dict[str, Any]:
    return {
        "id": appeal.id,
        "service_request_id": appeal.case_id,
        "proposal_id": appeal.proposal_id,
        "state": appeal.state,
        "outcome": appeal.outcome,
        "filed_at": records.open311_time(appeal.filed_at),
        "decided_at": records.open311_time(appeal.decided_at),
        "reason": appeal.reason,
    }


@router.get(
    "/cogov/follow/{token}.{format}",
    response_model=FollowedRequest,
    responses=_both_formats(FollowedRequest),
    summary="cogov extension: the citizen's own request with what AI did and their appeals",
)
def follow(
    token: str,
    format: Format,
    request: Request,
    session: ReadSession,
    lang: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    case = records.case_for_citizen_token(session, token)
    [record] = records.find_requests(
        session,
        app_state(request).intake,
        ids=[case.id],
        language=_language(request, lang),
        extensions=True,
    )
    appeals = [_citizen_appeal(appeal) for appeal in appeals_for_token(session, token=token)]
    return render(format, {"request": record, "appeals": appeals}, root="followed_request")


@router.post(
    "/cogov/appeals.{format}",
    response_model=list[CitizenAppeal],
    responses=_both_formats(list[CitizenAppeal]),
    summary="cogov extension: appeal a decision on your request (form: token, proposal_id, "
    "grounds); a person who took no part in it decides",
    openapi_extra=form_body(
        required=["token", "proposal_id", "grounds"],
        properties=dict.fromkeys(("token", "proposal_id", "grounds"), "string"),
    ),
)
def appeal(
    format: Format,
    request: Request,
    form: Annotated[FormData, Depends(read_form)],
    session: DbSession,
) -> Response:
    enforce_rate_limit(request)
    fields = {name: form.get(name) for name in ("token", "proposal_id", "grounds")}
    for name, value in fields.items():
        if not isinstance(value, str) or not trimmed(value):  # control characters: refused
            raise ValidationFailed(name, "is required")
    state = app_state(request)
    filed = file_appeal(
        session,
        token=str(fields["token"]).strip(),
        proposal_id=str(fields["proposal_id"]).strip(),
        grounds=str(fields["grounds"]),
        config=state.control,
        clock=state.clock,
    )
    return render(format, [_citizen_appeal(filed)], root="appeals", item="appeal")


class CitizenRating(BaseModel):
    service_request_id: str
    score: int


@router.post(
    "/cogov/ratings.{format}",
    response_model=list[CitizenRating],
    responses=_both_formats(list[CitizenRating]),
    summary="cogov extension: rate how your request was handled, 1 to 5, once (form: token, score)",
    openapi_extra=form_body(
        required=["token", "score"], properties={"token": "string", "score": "integer"}
    ),
)
def rate(
    format: Format,
    request: Request,
    form: Annotated[FormData, Depends(read_form)],
    session: DbSession,
) -> Response:
    enforce_rate_limit(request)
    token, score = form.get("token"), form.get("score")
    if not isinstance(token, str) or not token.strip():
        raise ValidationFailed("token", "is required")
    if not isinstance(score, str) or not score.strip().isdigit():
        raise ValidationFailed("score", "must be a whole number from 1 to 5")
    case = records.case_for_citizen_token(session, token.strip())
    rate_case(session, token=token.strip(), score=int(score), clock=app_state(request).clock)
    body = [{"service_request_id": case.id, "score": int(score)}]
    return render(format, body, root="ratings", item="rating")


def render_problem(request: Request, problem: Problem) -> Response:
    """Errors under /open311/ in GeoReport v2's shape; bad input is 400 as the spec has it."""
    fmt = Format.XML if request.url.path.endswith(".xml") else Format.JSON
    code = 400 if problem.status == 422 else problem.status
    return errors(fmt, code, problem.message, headers=problem.headers)

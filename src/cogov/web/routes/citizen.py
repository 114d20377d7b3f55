"""Citizens: report a problem, follow it through its secret link, appeal, rate.
Staff entering a request for a citizen (phone, counter) use the same form here."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cogov.api.auth import Principal, require_roles
from cogov.api.deps import DbSession, app_state
from cogov.api.open311.records import receive
from cogov.api.ratelimit import public_post_limit
from cogov.core.errors import Conflict, ValidationFailed
from cogov.core.types import Channel, Role
from cogov.intake import (
    CaseNotFound,
    IdempotencyConflict,
    InvalidRequest,
    case_for_token,
    rate_case,
)
from cogov.review import ReviewError, file_appeal
from cogov.web.forms import (
    ASSISTED_CHANNELS,
    RequestForm,
    channel_label,
    refusal_messages,
    service_for,
    service_options,
    short_language,
    text_error,
    value_label,
)
from cogov.web.pages import AnonymousFormGuard, Page, PageDep
from cogov.web.services import services
from cogov.web.tracking import case_story

router = APIRouter()
ASSISTED_ENTRY_ROLES = (Role.ADMINISTRATOR, Role.REVIEWER, Role.FIELD_STAFF)
AssistedStaff = Annotated[Principal, Depends(require_roles(*ASSISTED_ENTRY_ROLES))]


def _form_context(page: Page, form: RequestForm, errors: dict[str, str]) -> dict[str, Any]:
    config = app_state(page.request).intake
    return {
        "form": form,
        "errors": errors,
        "service_groups": service_options(config.catalogue, page.language),
        "service": service_for(config.catalogue, form.values.get("service_code")),
        "group_specs": config.groups.group_attributes,
        "lang_key": short_language(page.language),
        "value_label": lambda value: value_label(value, page.gettext),
        "channel_label": lambda channel: channel_label(channel, page.gettext),
        "assisted_channels": ASSISTED_CHANNELS,
    }


def _blank_form(service_code: str = "") -> RequestForm:
    # A fresh idempotency key per form shown: a double click or a retry after a
    # dropped connection never makes two cases.
    return RequestForm(values={"idempotency_key": uuid.uuid4().hex, "service_code": service_code})


def _receive(
    page: Page, session: Session, form: RequestForm, *, channel: Channel, entered_by: str | None
) -> str | dict[str, str]:
    """Walk the request through the governed path (or, where the application runs no
    engines, store it with intake for people to route). Returns the citizen's secret
    token, or on refusal the messages for the form."""
    state = app_state(page.request)
    body = form.body(channel=channel, language=page.language, groups=state.intake.groups)
    try:
        # The same intake as Open311's: the governed path when engines are deployed.
        submission = receive(
            session,
            state,
            body,
            idempotency_key=form.values.get("idempotency_key") or None,
            entered_by=entered_by,
        )
        return submission.citizen_token
    except InvalidRequest as refused:
        return refusal_messages(refused.problems, form, page.gettext)
    except IdempotencyConflict:
        form.values["idempotency_key"] = uuid.uuid4().hex
        return {"_form": page.gettext("The form expired. Please check it and submit it again.")}


@router.get("/requests/new")
def new_request(page: PageDep, service: str = "") -> Response:
    return page.render("citizen/new.html", **_form_context(page, _blank_form(service), {}))


@router.get("/requests/new/questions")
def service_questions(page: PageDep, service_code: str = "") -> Response:
    """The chosen service's own questions (htmx swaps them in when the service changes)."""
    form = RequestForm(values={"service_code": service_code})
    return page.render("partials/service_questions.html", **_form_context(page, form, {}))


@router.post("/requests", dependencies=[Depends(public_post_limit), AnonymousFormGuard])
async def create_request(page: PageDep, session: DbSession, request: Request) -> Response:
    form = RequestForm.from_form(await request.form())
    outcome = _receive(page, session, form, channel=Channel.WEB, entered_by=None)
    if isinstance(outcome, dict):
        return page.render(
            "citizen/new.html", status_code=422, **_form_context(page, form, outcome)
        )
    return page.redirect(f"/track/{outcome}?received=1")


@router.get("/track")
def find_request(page: PageDep) -> Response:
    return page.render("citizen/find.html", errors={}, value="")


@router.post("/track", dependencies=[AnonymousFormGuard])
def find_request_submit(
    page: PageDep, link: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    """Accept the whole secret link or just its token, as a citizen may paste either."""
    token = link.strip().rstrip("/").split("?")[0].rsplit("/", 1)[-1]
    if not token:
        message = page.gettext("Paste the private link or the code you were given.")
        return page.render(
            "citizen/find.html", status_code=422, errors={"link": message}, value=link
        )
    return page.redirect(f"/track/{token}")


@router.get("/track/{token}")
def track(
    page: PageDep,
    session: DbSession,
    token: str,
    received: Annotated[bool, Query()] = False,
) -> Response:
    try:
        story = case_story(session, token=token, state=app_state(page.request), page=page)
    except CaseNotFound:
        message = page.gettext("No request matches this link. Check that you copied all of it.")
        return page.render(
            "citizen/find.html", status_code=404, errors={"link": message}, value=token
        )
    return page.render(
        "citizen/track.html",
        story=story,
        token=token,
        received=received,
        errors={},
        notice=_track_notice(page),
        grounds="",
    )


def _track_notice(page: Page) -> str | None:
    if page.request.query_params.get("appealed"):
        return page.gettext(
            "Your appeal was sent. A person who took no part in the decision will look at it."
        )
    if page.request.query_params.get("rated"):
        return page.gettext("Thank you for your rating.")
    return None


@router.get("/staff/intake")
def assisted_form(page: PageDep, _staff: AssistedStaff) -> Response:
    form = _blank_form()
    form.values["channel"] = Channel.PHONE.value
    return page.render("staff/intake.html", **_form_context(page, form, {}))


@router.post("/staff/intake")
async def assisted_submit(
    page: PageDep, staff: AssistedStaff, session: DbSession, request: Request
) -> Response:
    form = RequestForm.from_form(await request.form())
    errors: dict[str, str] = {}
    try:
        channel = Channel(form.values.get("channel", ""))
    except ValueError:
        channel = Channel.PHONE
        errors["channel"] = page.gettext("Choose how the citizen contacted us.")
    if channel not in ASSISTED_CHANNELS:
        errors["channel"] = page.gettext("Choose how the citizen contacted us.")
    outcome = (
        errors
        if errors
        else _receive(page, session, form, channel=channel, entered_by=staff.username)
    )
    if isinstance(outcome, dict):
        return page.render(
            "staff/intake.html", status_code=422, **_form_context(page, form, outcome)
        )
    # Shown once, on this page only: the staff member reads or hands the link to the citizen.
    case = case_for_token(session, token=outcome)
    return page.render(
        "staff/intake_done.html",
        case=case,
        channel_label=channel_label(channel, page.gettext),
        link=str(page.request.base_url).rstrip("/") + f"/track/{outcome}",
    )


def _track_page(
    page: Page, session: Session, token: str, *, errors: dict[str, str] | None = None,
    notice: str | None = None, status_code: int = 200, grounds: str = "",
) -> Response:  # fmt: skip
    story = case_story(session, token=token, state=app_state(page.request), page=page)
    return page.render(
        "citizen/track.html",
        status_code=status_code,
        story=story,
        token=token,
        received=False,
        errors=errors or {},
        notice=notice,
        grounds=grounds,
    )


@router.post("/track/{token}/appeal", dependencies=[Depends(public_post_limit), AnonymousFormGuard])
def appeal(
    page: PageDep,
    session: DbSession,
    token: str,
    proposal_id: Annotated[str, Form(max_length=64)] = "",
    grounds: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """The citizen asks a person to look again at one decision on their case."""
    case_for_token(session, token=token)  # an unknown link is a 404 before anything else
    field = f"grounds-{proposal_id}"
    needed = page.gettext("Tell us why you think the decision is wrong.")
    if message := text_error(grounds, page.gettext, required=needed):
        return _track_page(page, session, token, errors={field: message}, status_code=422,
                           grounds=grounds)  # fmt: skip
    try:
        file_appeal(
            session, token=token, proposal_id=proposal_id, grounds=grounds,
            config=services(page.request).control, clock=app_state(page.request).clock,
        )  # fmt: skip
    except (ReviewError, Conflict, ValidationFailed):
        message = page.gettext("This decision cannot be appealed now (it may already be appealed).")
        return _track_page(page, session, token, errors={field: message}, status_code=409,
                           grounds=grounds)  # fmt: skip
    return page.redirect(f"/track/{token}?appealed=1#ai-title")


@router.post("/track/{token}/rating", dependencies=[Depends(public_post_limit), AnonymousFormGuard])
def rating(
    page: PageDep,
    session: DbSession,
    token: str,
    score: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    case_for_token(session, token=token)
    try:
        rate_case(session, token=token, score=int(score), clock=app_state(page.request).clock)
    except ValueError:
        message = page.gettext("Choose from 1 to 5 stars.")
        return _track_page(page, session, token, errors={"score": message}, status_code=422)
    except ValidationFailed:
        message = page.gettext("Choose from 1 to 5 stars.")
        return _track_page(page, session, token, errors={"score": message}, status_code=422)
    except Conflict:
        message = page.gettext("You have already rated this request.")
        return _track_page(page, session, token, errors={"score": message}, status_code=409)
    return page.redirect(f"/track/{token}?rated=1#rating")

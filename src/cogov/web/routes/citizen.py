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
from cogov.api.ratelimit import public_post_limit
from cogov.core.types import Channel, Role
from cogov.intake import CaseNotFound, IdempotencyConflict, InvalidRequest, Submission, submit
from cogov.web.forms import (
    ASSISTED_CHANNELS,
    RequestForm,
    channel_label,
    refusal_messages,
    service_for,
    service_options,
    short_language,
    value_label,
)
from cogov.web.pages import AnonymousFormGuard, Page, PageDep
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
) -> Submission | dict[str, str]:
    """Hand the request to intake; on refusal, the messages for the form."""
    state = app_state(page.request)
    body = form.body(channel=channel, language=page.language, groups=state.intake.groups)
    try:
        return submit(
            session,
            body,
            config=state.intake,
            idempotency_key=form.values.get("idempotency_key") or None,
            entered_by=entered_by,
            clock=state.clock,
        )
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
    return page.redirect(f"/track/{outcome.citizen_token}?received=1")


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
    return page.render("citizen/track.html", story=story, token=token, received=received)


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
    return page.render(
        "staff/intake_done.html",
        submission=outcome,
        channel_label=channel_label(channel, page.gettext),
        link=str(page.request.base_url).rstrip("/") + f"/track/{outcome.citizen_token}",
    )

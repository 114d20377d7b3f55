"""Staff filing an appeal for a citizen who phones or comes to the counter: find the
request by its number, choose the decision the citizen disputes, write down why, and
say how the citizen reached us. The same rules as the citizen's own appeal apply
(only a decision an agent touched, heard by a reviewer who took no part, the one who
filed it included); the appeal is recorded as assisted, naming the staff member.

Who may: reviewers, as in the staff API (``POST /api/v1/appeals``) and as the review
package requires of whoever enters an appeal for a citizen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cogov.api.auth import Principal, require_roles
from cogov.api.deps import DbSession, app_state
from cogov.control import WorkflowNotFound, get_workflow
from cogov.core.errors import Conflict, ValidationFailed
from cogov.core.types import Channel, Role
from cogov.intake import CaseNotFound, case_for_token, get_case
from cogov.review import ReviewError, file_appeal
from cogov.web.forms import (
    ASSISTED_CHANNELS,
    channel_label,
    short_language,
    text_error,
)
from cogov.web.pages import Page, PageDep
from cogov.web.services import services
from cogov.web.tracking import ai_work, state_label

router = APIRouter()
APPEAL_ENTRY_ROLES = (Role.REVIEWER,)
AppealEntry = Annotated[Principal, Depends(require_roles(*APPEAL_ENTRY_ROLES))]


def citizen_token(link_or_code: str) -> str:
    """The secret token in what the citizen read out: the whole private link or
    just its last part."""
    return link_or_code.strip().rstrip("/").split("?")[0].split("#")[0].rsplit("/", 1)[-1]


@router.get("/staff/appeal-for-citizen")
def find_case(
    page: PageDep,
    session: DbSession,
    _staff: AppealEntry,
    number: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """Step one: the request number the citizen gives (a GET form: it changes nothing)."""
    number = number.strip()
    if not number:
        return page.render("staff/appeal_find.html", errors={}, value="")
    try:
        get_case(session, case_id=number)
    except CaseNotFound:
        message = page.gettext("No request has this number. Check it with the citizen.")
        return page.render(
            "staff/appeal_find.html", status_code=404, errors={"number": message}, value=number
        )
    return page.redirect(f"/staff/cases/{number}/appeal")


def _appeal_page(
    page: Page,
    session: Session,
    case_id: str,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    case = get_case(session, case_id=case_id)
    service = app_state(page.request).intake.catalogue.get(case.service_code)
    proposals, appeals = ai_work(session, case_id=case.id, gettext=page.gettext)
    try:
        status: str | None = state_label(get_workflow(session, case_id=case.id).state, page.gettext)
    except WorkflowNotFound:
        status = None
    choices = [
        (p.id, f"{p.action_label}: {p.final_value or p.value}")
        for p in proposals
        if p.appealable and p.id not in appeals
    ]
    return page.render(
        "staff/appeal_for_citizen.html",
        status_code=status_code,
        case=case,
        service_name=service.name.get(short_language(page.language))
        if service
        else case.service_code,
        status=status,
        channel=channel_label(case.channel, page.gettext),
        proposals=proposals,
        appeals=appeals,
        choices=choices,
        channels=[(c.value, channel_label(c, page.gettext)) for c in ASSISTED_CHANNELS],
        filed=bool(page.request.query_params.get("filed")),
        errors=errors or {},
        form=form or {},
    )


@router.get("/staff/cases/{case_id}/appeal")
def appeal_form(page: PageDep, session: DbSession, _staff: AppealEntry, case_id: str) -> Response:
    return _appeal_page(page, session, case_id)


@router.post("/staff/cases/{case_id}/appeal")
def appeal_submit(
    page: PageDep,
    session: DbSession,
    staff: AppealEntry,
    case_id: str,
    citizen_code: Annotated[str, Form(max_length=2000)] = "",
    proposal_id: Annotated[str, Form(max_length=64)] = "",
    grounds: Annotated[str, Form(max_length=4000)] = "",
    channel: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    case = get_case(session, case_id=case_id)  # an unknown request is a 404 first
    form = {"proposal_id": proposal_id, "grounds": grounds, "channel": channel}
    errors: dict[str, str] = {}
    token = citizen_token(citizen_code)
    if not token:
        errors["citizen_code"] = page.gettext(
            "Ask the citizen for the private link or code of their request."
        )
    else:
        try:
            opens = case_for_token(session, token=token).id == case.id
        except CaseNotFound:
            opens = False
        if not opens:
            errors["citizen_code"] = page.gettext(
                "This code does not belong to this request. Check it with the citizen."
            )
    if not proposal_id:
        errors["proposal_id"] = page.gettext("Choose the decision the citizen disputes.")
    needed = page.gettext("Write down why the citizen thinks the decision is wrong.")
    if message := text_error(grounds, page.gettext, required=needed):
        errors["grounds"] = message
    if channel not in {c.value for c in ASSISTED_CHANNELS}:
        errors["channel"] = page.gettext("Choose how the citizen contacted us.")
    if errors:
        return _appeal_page(page, session, case_id, errors=errors, form=form, status_code=422)
    try:
        file_appeal(
            session,
            token=token,
            proposal_id=proposal_id,
            grounds=grounds,
            config=services(page.request).control,
            entered_by=staff.username,
            channel=Channel(channel),
            clock=app_state(page.request).clock,
        )
    except (ReviewError, Conflict, ValidationFailed):
        message = page.gettext("This decision cannot be appealed now (it may already be appealed).")
        return _appeal_page(
            page, session, case_id, errors={"_form": message}, form=form, status_code=409
        )
    return page.redirect(f"/staff/cases/{case_id}/appeal?filed=1")

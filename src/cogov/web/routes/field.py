"""Field staff: the work list of requests routed to their departments and waiting
for people (assigned, or being worked on), each with what the AI did and why; and
the two steps of the standard process they take, start work and resolve (with a note
the citizen reads). Both are human steps of control's process, recorded in the
ledger under the staff member's name.

A field staff member works for the departments an administrator gave them
(identity's user departments: the routing values their field team works). The list
shows those departments' work (narrowed to one with ``?department=``, kept in the
address); another department's list or request is refused with 403 saying why, and
a member of no department is told to ask an administrator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cogov.api.auth import Principal, require_roles
from cogov.api.deps import DbSession, app_state
from cogov.control import (
    Actor,
    InvalidDecision,
    TransitionRefused,
    WorkflowRead,
    get_workflow,
    resolve_case,
    transition,
    work_list,
)
from cogov.core.types import Role
from cogov.identity import user_departments
from cogov.intake import cases_by_ids, get_case
from cogov.ledger import Responsible
from cogov.web.forms import control_character_message, short_language, text_error
from cogov.web.pages import Page, PageDep
from cogov.web.services import services
from cogov.web.tracking import PRIORITY_LABELS, ai_work, state_label

router = APIRouter()
FIELD_ROLES = (Role.FIELD_STAFF,)
FieldStaff = Annotated[Principal, Depends(require_roles(*FIELD_ROLES))]
IN_PROGRESS = "in_progress"
# The states a field step may start from, as the standard process has them.
STARTABLE = ("assigned",)
RESOLVABLE = ("assigned", "in_progress")
NOTE_MAX = 4_000


def _priority(value: str | None, page: Page) -> str:
    label = PRIORITY_LABELS.get(value or "")
    return page.gettext(label) if label else (value or "–")


def _service_name(page: Page, code: str) -> str:
    service = app_state(page.request).intake.catalogue.get(code)
    return service.name.get(short_language(page.language)) if service else code


def _not_theirs(page: Page, department: str | None, mine: Sequence[str]) -> Response:
    """403: the department (of a list or a request) is not one the user works for."""
    if department:
        message = page.gettext(
            "This is work for the department %(department)s, which you do not work for: "
            "field staff see and act only on their own departments' requests.",
            department=department,
        )
    else:
        message = page.gettext(
            "This request is not routed to a department yet, so no field team works on it."
        )
    return page.render(
        "staff/work_refused.html", status_code=403, message=message, departments=mine
    )


@router.get("/staff/work")
def work_page(
    page: PageDep,
    session: DbSession,
    staff: FieldStaff,
    department: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    mine = user_departments(session, username=staff.username)
    chosen = " ".join(department.split())
    if chosen and chosen not in mine:
        return _not_theirs(page, chosen, mine)
    workflows = (
        work_list(session, department=chosen or None, departments=None if chosen else mine)
        if mine
        else []
    )
    cases = cases_by_ids(session, case_ids=[w.case_id for w in workflows])
    rows = [
        {
            "workflow": workflow,
            "case": cases[workflow.case_id],
            "service_name": _service_name(page, cases[workflow.case_id].service_code),
            "status": state_label(workflow.state, page.gettext),
            "priority": _priority(workflow.priority, page),
        }
        for workflow in workflows
        if workflow.case_id in cases
    ]
    notice = None
    if page.request.query_params.get("resolved"):
        notice = page.gettext("The request is resolved. The citizen can now read your note.")
    return page.render(
        "staff/work.html",
        rows=rows,
        departments=[(name, name) for name in mine],
        department=chosen,
        notice=notice,
    )


def _back_to_list(department: str) -> str:
    return "/staff/work" + (f"?department={quote(department, safe='')}" if department else "")


def _item_page(
    page: Page,
    session: Session,
    case_id: str,
    *,
    errors: dict[str, str] | None = None,
    note: str = "",
    status_code: int = 200,
) -> Response:
    case = get_case(session, case_id=case_id)
    workflow: WorkflowRead = get_workflow(session, case_id=case.id)
    proposals, appeals = ai_work(session, case_id=case.id, gettext=page.gettext)
    notice = None
    if page.request.query_params.get("started"):
        notice = page.gettext("Work started. The citizen sees that the request is being worked on.")
    return page.render(
        "staff/work_item.html",
        status_code=status_code,
        case=case,
        workflow=workflow,
        service_name=_service_name(page, case.service_code),
        status=state_label(workflow.state, page.gettext),
        priority=_priority(workflow.priority, page),
        proposals=proposals,
        appeals=appeals,
        can_start=workflow.state in STARTABLE,
        can_resolve=workflow.state in RESOLVABLE,
        back=_back_to_list(workflow.department or ""),
        notice=notice,
        errors=errors or {},
        note=note,
    )


def _theirs(page: Page, session: Session, staff: Principal, case_id: str) -> Response | None:
    """None when the request is routed to one of the user's departments, else the 403
    page saying why (an unknown request is a 404 first)."""
    get_case(session, case_id=case_id)
    department = get_workflow(session, case_id=case_id).department
    mine = user_departments(session, username=staff.username)
    return None if department in mine else _not_theirs(page, department, mine)


@router.get("/staff/work/{case_id}")
def work_item(page: PageDep, session: DbSession, staff: FieldStaff, case_id: str) -> Response:
    return _theirs(page, session, staff, case_id) or _item_page(page, session, case_id)


def _refused(page: Page) -> str:
    return page.gettext(
        "The standard process does not allow this step from where the request stands now "
        "(someone may have moved it). Reload the page to see where it is."
    )


@router.post("/staff/work/{case_id}/start")
def start_work(page: PageDep, session: DbSession, staff: FieldStaff, case_id: str) -> Response:
    refused = _theirs(page, session, staff, case_id)
    if refused:
        return refused
    try:
        transition(
            session,
            case_id=case_id,
            to_state=IN_PROGRESS,
            actor=Actor.human(staff.username),
            config=services(page.request).control,
            reason="work started",
            responsible=Responsible(operator=f"user:{staff.username}"),
            clock=app_state(page.request).clock,
        )
    except TransitionRefused:
        return _item_page(
            page, session, case_id, errors={"_start": _refused(page)}, status_code=409
        )
    return page.redirect(f"/staff/work/{case_id}?started=1")


@router.post("/staff/work/{case_id}/resolve")
def resolve(
    page: PageDep,
    session: DbSession,
    staff: FieldStaff,
    case_id: str,
    note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
) -> Response:
    refused = _theirs(page, session, staff, case_id)
    if refused:
        return refused
    needed = page.gettext("Write what was done: the citizen reads this note.")
    if message := text_error(note, page.gettext, required=needed):
        return _item_page(
            page, session, case_id, errors={"note": message}, note=note, status_code=422
        )
    department = get_workflow(session, case_id=case_id).department or ""
    try:
        resolve_case(
            session,
            case_id=case_id,
            by=staff.username,
            note=note,
            config=services(page.request).control,
            clock=app_state(page.request).clock,
        )
    except InvalidDecision:
        message = control_character_message(note, page.gettext) or page.gettext(
            "Write what was done in 1 to 4,000 characters."
        )
        return _item_page(
            page, session, case_id, errors={"note": message}, note=note, status_code=422
        )
    except TransitionRefused:
        return _item_page(
            page, session, case_id, errors={"_resolve": _refused(page)}, note=note, status_code=409
        )
    target = _back_to_list(department)
    return page.redirect(target + ("&" if "?" in target else "?") + "resolved=1")

"""The registry of digital employees: the public transparency register (tier-1
summaries of active agents) and the administrator's pages (file from a YAML upload,
see the grade, take lifecycle steps, name guardians, pause and resume)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cogov.api.auth import Principal, require_roles
from cogov.api.deps import ClockDep, DbSession, SettingsDep
from cogov.control.autonomy import AutonomyPolicy, register_with_autonomy
from cogov.core.errors import Conflict, NotFound, ValidationFailed
from cogov.core.types import Role
from cogov.identity import list_users
from cogov.registry import (
    FilingInvalid,
    NotPermitted,
    RefusalRecorded,
    UnchangedFiling,
    activate,
    approve,
    assign_guardians,
    file_agent,
    get_agent,
    history,
    list_agents,
    list_filings,
    load_filing_text,
    pause_agent,
    resume_agent,
    retire,
    submit,
    suspend,
)
from cogov.registry.rules import FilingStatus, Step
from cogov.web.forms import text_error
from cogov.web.i18n import N_
from cogov.web.pages import Page, PageDep
from cogov.web.standing import standing_view

router = APIRouter()
Viewer = Annotated[
    Principal, Depends(require_roles(Role.ADMINISTRATOR, Role.REVIEWER, Role.AUDITOR))
]
Administrator = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR))]
# Guardians are reviewers; the registry itself checks that the user is this agent's
# guardian (or an administrator) before the kill switch moves.
KillSwitchOperator = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR, Role.REVIEWER))]
FILING_MAX_BYTES = 256 * 1024
STEPS = {
    Step.SUBMIT: submit,
    Step.APPROVE: approve,
    Step.ACTIVATE: activate,
    Step.SUSPEND: suspend,
    Step.RETIRE: retire,
}
STEP_LABELS = {
    Step.SUBMIT: N_("Submit for approval"),
    Step.APPROVE: N_("Approve"),
    Step.ACTIVATE: N_("Activate"),
    Step.SUSPEND: N_("Suspend"),
    Step.RETIRE: N_("Retire"),
}
STATUS_LABELS = {
    FilingStatus.DRAFT: N_("Draft"),
    FilingStatus.SUBMITTED: N_("Submitted"),
    FilingStatus.APPROVED: N_("Approved"),
    FilingStatus.ACTIVE: N_("Active"),
    FilingStatus.SUSPENDED: N_("Suspended"),
    FilingStatus.RETIRED: N_("Retired"),
}
REASON_REQUIRED = N_("Give a reason: it is kept in the ledger.")


# --- public ---------------------------------------------------------------------------
# Each active agent with its autonomy now: the controller's own numbers, worded in the
# page's language (cogov.web.standing).
@router.get("/register")
def register(page: PageDep, session: DbSession, settings: SettingsDep, clock: ClockDep) -> Response:
    entries = register_with_autonomy(
        session, policy=AutonomyPolicy.from_settings(settings), clock=clock
    )
    return page.render(
        "public/register.html",
        entries=[(entry, standing_view(page, entry.autonomy)) for entry in entries],
    )


@router.get("/register/{agent_id}")
def register_entry(
    page: PageDep, session: DbSession, settings: SettingsDep, clock: ClockDep, agent_id: str
) -> Response:
    policy = AutonomyPolicy.from_settings(settings)
    found = register_with_autonomy(session, policy=policy, clock=clock, agent_id=agent_id)
    if not found:
        # Only active agents are public; a draft or retired one is simply not found here.
        raise NotFound("active agent", agent_id)
    entry = found[0]
    return page.render(
        "public/register_entry.html", entry=entry, standing=standing_view(page, entry.autonomy)
    )


# --- staff ----------------------------------------------------------------------------
def _status_label(page: Page, status: FilingStatus) -> str:
    return page.gettext(STATUS_LABELS[status])


@router.get("/staff/registry")
def registry_list(page: PageDep, session: DbSession, _viewer: Viewer) -> Response:
    return page.render(
        "staff/registry.html",
        agents=list_agents(session),
        status_label=lambda status: _status_label(page, status),
    )


@router.get("/staff/registry/file")
def filing_form(page: PageDep, _admin: Administrator) -> Response:
    return page.render("staff/registry_file.html", errors={}, problems=[])


@router.post("/staff/registry/file")
async def filing_upload(
    page: PageDep,
    session: DbSession,
    admin: Administrator,
    filing: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """File a new agent, or a new version of one, from its YAML filing file."""
    errors: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    raw = await filing.read(FILING_MAX_BYTES + 1) if filing is not None else b""
    if not raw:
        errors["filing"] = page.gettext("Choose the agent's filing file (YAML).")
    elif len(raw) > FILING_MAX_BYTES:
        errors["filing"] = page.gettext("The file is too large (at most 256 KB).")
    else:
        try:
            document = load_filing_text(raw.decode("utf-8"))
            filed = file_agent(session, document=document, by=admin.username)
        except UnicodeDecodeError:
            errors["filing"] = page.gettext("The file is not UTF-8 text.")
        except FilingInvalid as refused:
            problems = list(refused.problems)
            errors["filing"] = page.gettext(
                "The filing was refused. Each problem is listed with the field it concerns."
            )
        except UnchangedFiling:
            errors["filing"] = page.gettext(
                "This file is the same as the agent's latest version: nothing was filed."
            )
        else:
            return page.redirect(f"/staff/registry/{filed.agent_id}?filed={filed.version}")
    return page.render(
        "staff/registry_file.html", status_code=422, errors=errors, problems=problems
    )


def _agent_page(
    page: Page,
    session: Session,
    agent_id: str,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    agent = get_agent(session, agent_id=agent_id)
    reviewers = [
        (user.username, f"{user.display_name} ({user.username})")
        for user in list_users(session, active_only=True, role=Role.REVIEWER)
    ]
    return page.render(
        "staff/registry_agent.html",
        status_code=status_code,
        agent=agent,
        filings=list_filings(session, agent_id=agent_id),
        events=history(session, agent_id=agent_id),
        steps=[(step.value, page.gettext(label)) for step, label in STEP_LABELS.items()],
        status_label=lambda status: _status_label(page, status),
        reviewer_options=reviewers,
        errors=errors or {},
        notice=notice,
        refusal=refusal,
        is_admin=page.holds(Role.ADMINISTRATOR),
        may_pause=page.principal is not None
        and (
            page.holds(Role.ADMINISTRATOR)
            or page.principal.username in (agent.guardian, agent.backup_guardian)
        ),
    )


@router.get("/staff/registry/{agent_id}")
def agent_detail(
    page: PageDep, session: DbSession, _viewer: Viewer, agent_id: str, filed: int | None = None
) -> Response:
    notice = (
        page.gettext("Version %(version)s was filed as a draft.", version=filed) if filed else None
    )
    return _agent_page(page, session, agent_id, notice=notice)


def _refused(page: Page, session: Session, agent_id: str, field: str, exc: Exception) -> Response:
    """A refused step: the form again with the registry's reason (the registry's
    messages name the rule that refused; they are shown as written, in English)."""
    message = getattr(exc, "message", str(exc))
    if isinstance(exc, RefusalRecorded):
        # The refusal itself is a ledger entry: return (commit), do not raise.
        return _agent_page(page, session, agent_id, refusal=message, status_code=409)
    return _agent_page(
        page, session, agent_id, errors={field: message, "_detail": message}, status_code=409
    )


@router.post("/staff/registry/{agent_id}/step")
def lifecycle_step(
    page: PageDep,
    session: DbSession,
    admin: Administrator,
    agent_id: str,
    step: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    get_agent(session, agent_id=agent_id)  # 404 before anything else
    try:
        chosen = Step(step)
    except ValueError:
        return _agent_page(
            page, session, agent_id, errors={"step": page.gettext("Choose a step.")},
            status_code=422,
        )  # fmt: skip
    # Checked as typed (the registry trims it): a control character is refused, not dropped.
    if message := text_error(reason, page.gettext, required=page.gettext(REASON_REQUIRED)):
        return _agent_page(page, session, agent_id, errors={"reason": message}, status_code=422)
    try:
        STEPS[chosen](session, agent_id=agent_id, by=admin.username, reason=reason)
    except (Conflict, ValidationFailed, NotPermitted, RefusalRecorded) as refused:
        return _refused(page, session, agent_id, "step", refused)
    return page.redirect(f"/staff/registry/{agent_id}")


@router.post("/staff/registry/{agent_id}/guardians")
def guardians(
    page: PageDep,
    session: DbSession,
    admin: Administrator,
    agent_id: str,
    guardian: Annotated[str, Form(max_length=64)] = "",
    backup_guardian: Annotated[str, Form(max_length=64)] = "",
    guardian_reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    get_agent(session, agent_id=agent_id)
    errors: dict[str, str] = {}
    if not guardian:
        errors["guardian"] = page.gettext("Choose the guardian.")
    if not backup_guardian:
        errors["backup_guardian"] = page.gettext("Choose the backup guardian.")
    elif backup_guardian == guardian:
        errors["backup_guardian"] = page.gettext("The backup guardian must be a different person.")
    required = page.gettext(REASON_REQUIRED)
    if message := text_error(guardian_reason, page.gettext, required=required):
        errors["guardian_reason"] = message
    if errors:
        return _agent_page(page, session, agent_id, errors=errors, status_code=422)
    try:
        assign_guardians(
            session, agent_id=agent_id, guardian=guardian, backup_guardian=backup_guardian,
            by=admin.username, reason=guardian_reason,
        )  # fmt: skip
    except (Conflict, ValidationFailed, NotPermitted) as refused:
        return _refused(page, session, agent_id, "guardian", refused)
    return page.redirect(f"/staff/registry/{agent_id}")


@router.post("/staff/registry/{agent_id}/kill-switch")
def kill_switch(
    page: PageDep,
    session: DbSession,
    operator: KillSwitchOperator,
    agent_id: str,
    action: Annotated[str, Form()] = "",
    switch_reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Pause (the agent stops acting at once) or resume, by its guardian or an administrator."""
    get_agent(session, agent_id=agent_id)
    if action not in ("pause", "resume"):
        raise ValidationFailed("action", "must be pause or resume")
    if message := text_error(switch_reason, page.gettext, required=page.gettext(REASON_REQUIRED)):
        return _agent_page(
            page, session, agent_id, errors={"switch_reason": message}, status_code=422
        )
    operate = pause_agent if action == "pause" else resume_agent
    try:
        operate(session, agent_id=agent_id, by=operator.username, reason=switch_reason)
    except (Conflict, ValidationFailed, NotPermitted) as refused:
        return _refused(page, session, agent_id, "switch_reason", refused)
    return page.redirect(f"/staff/registry/{agent_id}")

"""Reviewers: the queue of proposals an agent may not decide alone, each with its
explanation and evidence, and one form to approve, edit or reject it with a reason;
and the citizens' appeals a reviewer who took no part may decide."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cogov.api.auth import Principal, require_roles
from cogov.api.deps import DbSession, app_state
from cogov.control import MergeRefused, get_proposal
from cogov.core.errors import Conflict, ValidationFailed
from cogov.core.types import Role
from cogov.intake import get_case
from cogov.review import (
    AppealOutcome,
    Decision,
    ReviewError,
    ReviewPolicy,
    claim,
    decide,
    decide_appeal,
    get_appeal,
    get_item,
    list_appeals,
    list_queue,
    merge_case,
    release,
)
from cogov.web import explain
from cogov.web.forms import control_character_message, text_error
from cogov.web.i18n import N_
from cogov.web.pages import Page, PageDep
from cogov.web.services import services
from cogov.web.tracking import contribution, state_label

router = APIRouter()
Reviewer = Annotated[Principal, Depends(require_roles(Role.REVIEWER))]
DECISIONS = {
    Decision.APPROVE: N_("Approve as proposed"),
    Decision.EDIT: N_("Change it"),
    Decision.REJECT: N_("Reject it"),
}
APPEAL_OUTCOMES = {
    AppealOutcome.UPHELD: N_("Uphold: the original decision was wrong"),
    AppealOutcome.DISMISSED: N_("Dismiss: the original decision stands"),
}
VERDICT_LABELS = {
    "apply": N_("May apply on its own"),
    "review": N_("A person must decide"),
    "deny": N_("Not allowed for an AI: a person must decide"),
}


def _policy(page: Page) -> ReviewPolicy:
    return ReviewPolicy.from_settings(app_state(page.request).settings)


def _lang(page: Page) -> str:
    return "zh" if page.language.locale.startswith("zh") else "en"


@router.get("/staff/review")
def queue(page: PageDep, session: DbSession, reviewer: Reviewer) -> Response:
    codes = services(page.request).reason_codes
    items = list_queue(session, reviewer=reviewer.username, codes=codes)
    rows = []
    for item in items:
        read = get_proposal(session, proposal_id=item.proposal_id)
        case = get_case(session, case_id=item.case_id)
        rows.append(
            {
                "item": item,
                "proposal": contribution(read, page.gettext),
                "case": case,
                "why": _why_a_person(page, read.reasons, item.reason),
            }
        )
    appeals = list_appeals(session, eligible=reviewer.username)
    return page.render("staff/review_queue.html", rows=rows, appeals=appeals)


def _why_a_person(page: Page, checks: list[dict[str, Any]], recorded: str) -> str:
    """Why the item needs a person, in the page's language: the check that decided
    (the item keeps control's English words as its record, ``recorded``)."""
    if not checks:
        return recorded
    return explain.check_text(
        checks[0],
        page.gettext,
        chinese=_lang(page) == "zh",
        state_label=lambda state: state_label(state, page.gettext),
    )


def _item_page(
    page: Page,
    session: Session,
    reviewer: Principal,
    item_id: str,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    codes = services(page.request).reason_codes
    item = get_item(session, item_id=item_id, codes=codes)
    proposal = get_proposal(session, proposal_id=item.proposal_id)
    case = get_case(session, case_id=item.case_id)
    service = app_state(page.request).intake.catalogue.get(case.service_code)
    lang = _lang(page)
    explanation: dict[str, Any] = proposal.explanation or {}
    # Evidence and checks in the page's language, from their structured data
    # (cogov.web.explain); the English labels and reasons stay the record.
    evidence = [
        (
            explain.evidence_label(entry, page.gettext),
            explain.evidence_kind(str(entry.get("kind", "")), page.gettext),
            float(entry.get("weight") or 0.0),
        )
        for entry in explanation.get("evidence", [])
    ]
    # Each check that spoke: its reference (rule:<id>, obligation:<name>, ...), its
    # verdict and what it found (negative-list rules carry their own Chinese reason).
    reasons = [
        {
            "ref": str(check.get("ref", "")),
            "verdict": page.gettext(VERDICT_LABELS.get(str(check.get("verdict")), N_("Checked"))),
            "text": _why_a_person(page, [check], str(check.get("reason", ""))),
        }
        for check in proposal.reasons
    ]
    return page.render(
        "staff/review_item.html",
        status_code=status_code,
        item=item,
        proposal=proposal,
        shown=contribution(proposal, page.gettext),
        # The threshold in force (control's), to the precision that tells the two
        # apart: 98.7% against 99%, never "99% · threshold 99%" for one held back.
        confidence_shown=explain.percent(proposal.confidence),
        threshold_shown=explain.percent(proposal.threshold),
        case=case,
        service_name=service.name.get(lang) if service else case.service_code,
        evidence=evidence,
        alternatives=explanation.get("alternatives") or [],
        reasons=reasons,
        verdict_label=page.gettext(VERDICT_LABELS.get(proposal.verdict.value, N_("Checked"))),
        decisions=[(key.value, page.gettext(label)) for key, label in DECISIONS.items()],
        codes=[
            (
                code.code,
                code.label.zh if lang == "zh" else code.label.en,
                code.needs_note,
                sorted(d.value for d in code.applies_to),
            )
            for code in codes.codes
        ],
        mine=item.claimed_by == reviewer.username,
        errors=errors or {},
        form=form or {},
    )


@router.get("/staff/review/{item_id}")
def item_detail(page: PageDep, session: DbSession, reviewer: Reviewer, item_id: str) -> Response:
    return _item_page(page, session, reviewer, item_id)


@router.post("/staff/review/{item_id}/claim")
def claim_item(page: PageDep, session: DbSession, reviewer: Reviewer, item_id: str) -> Response:
    try:
        claim(session, item_id=item_id, reviewer=reviewer.username, policy=_policy(page))
    except (ReviewError, Conflict) as refused:
        return _item_page(
            page, session, reviewer, item_id, errors={"_claim": refused.message}, status_code=409
        )
    return page.redirect(f"/staff/review/{item_id}")


@router.post("/staff/review/{item_id}/release")
def release_item(page: PageDep, session: DbSession, reviewer: Reviewer, item_id: str) -> Response:
    try:
        release(session, item_id=item_id, reviewer=reviewer.username)
    except (ReviewError, Conflict) as refused:
        return _item_page(
            page, session, reviewer, item_id, errors={"_claim": refused.message}, status_code=409
        )
    return page.redirect("/staff/review")


@router.post("/staff/review/{item_id}/decide")
def decide_item(
    page: PageDep,
    session: DbSession,
    reviewer: Reviewer,
    item_id: str,
    decision: Annotated[str, Form()] = "",
    new_value: Annotated[str, Form(max_length=4000)] = "",
    reason_code: Annotated[str, Form(max_length=64)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """The one action on a proposal: approve, edit (with the new value) or reject,
    with a reason code (required for edit and reject) and the reviewer's words."""
    form = {"decision": decision, "new_value": new_value, "reason_code": reason_code, "note": note}
    errors: dict[str, str] = {}
    if decision not in {d.value for d in Decision}:
        errors["decision"] = page.gettext("Choose approve, change or reject.")
    # Typed text is checked as sent (review trims it): a control character is refused, not dropped.
    if hidden := text_error(note, page.gettext):
        errors["note"] = hidden
    needed = page.gettext("Enter the value you decide instead.")
    if message := text_error(
        new_value, page.gettext, required=needed if decision == Decision.EDIT.value else None
    ):
        errors["new_value"] = message
    if decision in (Decision.EDIT.value, Decision.REJECT.value) and not reason_code:
        errors["reason_code"] = page.gettext("Choose the reason for your decision.")
    if errors:
        return _item_page(page, session, reviewer, item_id, errors=errors, form=form,
                          status_code=422)  # fmt: skip
    web = services(page.request)
    try:
        decide(
            session,
            item_id=item_id,
            reviewer=reviewer.username,
            decision=decision,
            config=web.control,
            reason_code=reason_code or None,
            note=note,
            new_value=new_value if new_value.strip() else None,
            policy=_policy(page),
            codes=web.reason_codes,
            clock=app_state(page.request).clock,
        )
    except ValidationFailed as refused:
        field = refused.field if refused.field in form else "note"
        errors[field] = control_character_message(form[field], page.gettext) or refused.reason
        return _item_page(page, session, reviewer, item_id, errors=errors, form=form,
                          status_code=422)  # fmt: skip
    except (ReviewError, Conflict) as refused:
        return _item_page(page, session, reviewer, item_id, errors={"_decide": refused.message},
                          form=form, status_code=409)  # fmt: skip
    return page.redirect("/staff/review?decided=1")


def _merge_refusal(page: Page, refused: MergeRefused) -> str:
    """Why the request named cannot take the merge, in the page's language."""
    if refused.problem == "itself":
        return page.gettext("A request cannot repeat itself: enter the other request's number.")
    if refused.problem == "unknown":
        return page.gettext("No request has the number %(case)s.", case=refused.into)
    if refused.problem == "merged":
        return page.gettext(
            "Request %(case)s is itself merged into request %(into)s: merge into that one.",
            case=refused.into,
            into=refused.other or "",
        )
    if refused.problem == "has_repeats":
        return page.gettext(
            "Other requests were merged into this one (request %(repeat)s, for one): merge "
            "request %(case)s into this one instead.",
            repeat=refused.other or "",
            case=refused.into,
        )
    return page.gettext("Enter the number of the request this one repeats.")


@router.post("/staff/review/{item_id}/merge")
def merge_item(
    page: PageDep,
    session: DbSession,
    reviewer: Reviewer,
    item_id: str,
    into: Annotated[str, Form(max_length=64)] = "",
    merge_reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """The request repeats another no agent said it repeats: merge it into that one,
    which ends this proposal (it is withdrawn) and leaves nothing on it waiting."""
    form = {"into": into, "merge_reason": merge_reason}
    errors: dict[str, str] = {}
    needed = page.gettext("Enter the number of the request this one repeats.")
    if message := text_error(into, page.gettext, required=needed):
        errors["into"] = message
    if hidden := text_error(merge_reason, page.gettext):
        errors["merge_reason"] = hidden
    if errors:
        return _item_page(page, session, reviewer, item_id, errors=errors, form=form,
                          status_code=422)  # fmt: skip
    item = get_item(session, item_id=item_id)
    try:
        merge_case(
            session,
            case_id=item.case_id,
            into=into,
            reviewer=reviewer.username,
            config=services(page.request).control,
            reason=merge_reason,
            clock=app_state(page.request).clock,
        )
    except MergeRefused as refused:
        errors["into"] = _merge_refusal(page, refused)
        return _item_page(page, session, reviewer, item_id, errors=errors, form=form,
                          status_code=422)  # fmt: skip
    except ValidationFailed as refused:
        errors["merge_reason"] = (
            control_character_message(merge_reason, page.gettext) or refused.reason
        )
        return _item_page(page, session, reviewer, item_id, errors=errors, form=form,
                          status_code=422)  # fmt: skip
    except (ReviewError, Conflict) as refused:
        return _item_page(page, session, reviewer, item_id, errors={"_merge": refused.message},
                          form=form, status_code=409)  # fmt: skip
    return page.redirect("/staff/review?merged=1")


def _appeal_page(
    page: Page, session: Session, appeal_id: str, *, errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    appeal = get_appeal(session, appeal_id=appeal_id)
    proposal = get_proposal(session, proposal_id=appeal.proposal_id)
    case = get_case(session, case_id=appeal.case_id)
    return page.render(
        "staff/appeal.html",
        status_code=status_code,
        appeal=appeal,
        shown=contribution(proposal, page.gettext),
        case=case,
        outcomes=[(key.value, page.gettext(label)) for key, label in APPEAL_OUTCOMES.items()],
        errors=errors or {},
        form=form or {},
    )


@router.get("/staff/appeals/{appeal_id}")
def appeal_detail(
    page: PageDep, session: DbSession, _reviewer: Reviewer, appeal_id: str
) -> Response:
    return _appeal_page(page, session, appeal_id)


@router.post("/staff/appeals/{appeal_id}")
def appeal_decide(
    page: PageDep,
    session: DbSession,
    reviewer: Reviewer,
    appeal_id: str,
    outcome: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    form = {"outcome": outcome, "reason": reason}
    errors: dict[str, str] = {}
    if outcome not in {o.value for o in AppealOutcome}:
        errors["outcome"] = page.gettext("Choose uphold or dismiss.")
    needed = page.gettext("Give the reason for your decision: the citizen reads it.")
    if message := text_error(reason, page.gettext, required=needed):
        errors["reason"] = message
    if errors:
        return _appeal_page(page, session, appeal_id, errors=errors, form=form, status_code=422)
    try:
        decide_appeal(
            session, appeal_id=appeal_id, by=reviewer.username, outcome=outcome,
            reason=reason, config=services(page.request).control,
            clock=app_state(page.request).clock,
        )  # fmt: skip
    except ValidationFailed as refused:
        message = control_character_message(reason, page.gettext) or refused.reason
        return _appeal_page(page, session, appeal_id, errors={"reason": message}, form=form,
                            status_code=422)  # fmt: skip
    except (ReviewError, Conflict) as refused:
        return _appeal_page(page, session, appeal_id, errors={"_decide": refused.message},
                            form=form, status_code=409)  # fmt: skip
    return page.redirect("/staff/review?decided=1")

"""Cases as Open311 service-request records. Nothing private leaves here: no contact
details, no group attributes, no staff names; only what GeoReport v2 shows of a
request, plus (with ``extensions``) cogov's public account of what AI did with it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from cogov.api.state import AppState
from cogov.control import ProposalRead, WorkflowRead, cases_with_workflows, proposals_for_cases
from cogov.core.clock import parse_iso_utc
from cogov.intake import (
    CaseRating,
    CaseRead,
    IntakeConfig,
    Submission,
    UnknownCitizenToken,
    case_for_token,
    ratings_for_cases,
    submit,
)
from cogov.pipeline import process
from cogov.review import AppealRead, list_appeals
from cogov.web import explain

# Open311 has two statuses; cogov's process states fold into them.
CLOSED_STATES = frozenset({"resolved", "closed", "merged", "rejected"})
# A case intake has stored but control has not yet opened a workflow for.
RECEIVED = "received"
# Shown before any text an agent drafted, wherever a citizen reads it (plain clients too).
AI_LABEL = "[AI-drafted] "


def receive(
    session: Session,
    state: AppState,
    body: Mapping[str, Any],
    *,
    idempotency_key: str | None,
    entered_by: str | None = None,
) -> Submission:
    """Take in one request: through the whole governed path when engines are deployed
    (triage, control, the review queue, in this same transaction), else stored by
    intake to wait for people to route it."""
    if state.deployment is not None:
        outcome = process(
            session,
            body,
            deployment=state.deployment,
            idempotency_key=idempotency_key,
            entered_by=entered_by,
        )
        return Submission(outcome.case, outcome.citizen_token, outcome.replayed)
    return submit(
        session,
        body,
        config=state.intake,
        idempotency_key=idempotency_key,
        entered_by=entered_by,
        clock=state.clock,
    )


def open311_time(text: str | None) -> str | None:
    """cogov's stored times (microseconds, Z) as Open311's W3C date-time, to the second."""
    if not text:
        return None
    return parse_iso_utc(text).strftime("%Y-%m-%dT%H:%M:%SZ")


def service_notice(config: IntakeConfig, service_code: str) -> str | None:
    # The catalogue has no per-service notice yet; GeoReport v2 allows it to be empty.
    return None


def open311_status(state: str) -> str:
    return "closed" if state in CLOSED_STATES else "open"


def status_notes(workflow: WorkflowRead | None) -> str | None:
    if workflow is None or not workflow.reply:
        return None
    return (AI_LABEL if workflow.reply_ai_drafted else "") + workflow.reply


def agent_outputs(
    proposals: Sequence[ProposalRead], language: str | None = None
) -> list[dict[str, Any]]:
    """What AI proposed for a case, each with its label and explanation: the engine's
    own (``explanation``, English: the record) and, in ``summary``, the same worded
    in the language asked for from its structured data, as the web pages word it.
    ``label`` is in that language too, worded from where the proposal stands as the
    follow page words it (:func:`cogov.web.explain.standing`: one withdrawn because its
    request was merged is not waiting); ``ai_drafted``, ``state`` (control's
    ``ProposalState``) and ``outcome`` say the same in words that never change with the
    language, for machines."""
    chosen = explain.language_asked(language)
    gettext = explain.gettext_for(chosen)
    return [
        {
            "proposal_id": proposal.id,
            "agent_id": proposal.agent_id,
            "agent_version": proposal.agent_version,
            "action": proposal.action,
            "label": explain.ai_label(
                ai_drafted=proposal.ai_drafted,
                state=proposal.state,
                outcome=proposal.outcome,
                gettext=gettext,
            ),
            "ai_drafted": proposal.ai_drafted,
            "state": proposal.state.value,
            "outcome": proposal.outcome.value if proposal.outcome else None,
            "explanation": proposal.explanation,
            "summary": explain.summary(
                action=proposal.action,
                value=proposal.value,
                confidence=proposal.confidence,
                explanation=proposal.explanation or {},
                gettext=gettext,
            ),
            "summary_language": chosen.tag,
        }
        for proposal in proposals
    ]


def latest_appeals(session: Session, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The newest appeal on each of these cases that has one, as the public may see it
    (never the grounds), read for every case at once."""
    newest: dict[str, AppealRead] = {}
    for appeal in list_appeals(session, states=None, case_ids=case_ids, limit=None):
        newest[appeal.case_id] = appeal  # oldest first: the last one read wins
    return {
        case_id: {
            "proposal_id": appeal.proposal_id,
            "state": appeal.state,
            "outcome": appeal.outcome,
            "filed_at": open311_time(appeal.filed_at),
            "decided_at": open311_time(appeal.decided_at),
        }
        for case_id, appeal in newest.items()
    }


def rating(found: CaseRating | None) -> dict[str, Any] | None:
    """The citizen's rating of how the case was handled (a ``case.rated`` entry)."""
    return None if found is None else {"score": found.score, "rated_at": found.rated_at}


def _record(
    case: CaseRead,
    workflow: WorkflowRead | None,
    config: IntakeConfig,
    language: str | None,
    proposals: Sequence[ProposalRead] | None,
    ratings: Mapping[str, CaseRating],
    appeals: Mapping[str, dict[str, Any]],
) -> dict[str, Any]:
    """One case as a GeoReport v2 record; with ``proposals`` (the case's, when the
    extensions are asked for), cogov's ``cogov`` key too."""
    service = config.catalogue.get(case.service_code)
    state = workflow.state if workflow else RECEIVED
    record: dict[str, Any] = {
        "service_request_id": case.id,
        "status": open311_status(state),
        "status_notes": status_notes(workflow),
        "service_name": service.name.get(language) if service else None,
        "service_code": case.service_code,
        "description": case.description,
        "agency_responsible": workflow.department if workflow else None,
        "service_notice": service_notice(config, case.service_code),
        "requested_datetime": open311_time(case.received_at),
        "updated_datetime": open311_time(workflow.updated_at if workflow else case.received_at),
        "expected_datetime": None,
        "address": case.address_string,
        "address_id": case.address_id,
        "zipcode": None,
        "lat": case.latitude,
        "long": case.longitude,
        "media_url": case.media_url,
    }
    if proposals is not None:
        record["cogov"] = {
            "state": state,
            "duplicate_of": workflow.duplicate_of if workflow else None,
            "channel": case.channel.value,
            "ai": agent_outputs(proposals, language),
            "reply_ai_drafted": bool(workflow and workflow.reply_ai_drafted),
            "appeal": appeals.get(case.id),
            "rating": rating(ratings.get(case.id)),
        }
    return record


def find_requests(
    session: Session,
    config: IntakeConfig,
    *,
    ids: Sequence[str] = (),
    service_codes: Sequence[str] = (),
    received_from: str | None = None,
    received_to: str | None = None,
    statuses: set[str] | frozenset[str] = frozenset(),
    limit: int = 1000,
    language: str | None = None,
    extensions: bool = False,
) -> list[dict[str, Any]]:
    """Service requests newest first, read with their workflows in one query; the
    Open311 status filter (open, closed, or both) is part of that query, so ``limit``
    counts only requests that match it."""
    state_in = state_not_in = None
    if statuses == {"closed"}:
        state_in = CLOSED_STATES
    elif statuses == {"open"}:
        state_not_in = CLOSED_STATES
    rows = cases_with_workflows(
        session,
        ids=list(ids) or None,
        service_codes=list(service_codes) or None,
        received_from=received_from,
        received_to=received_to,
        state_in=state_in,
        state_not_in=state_not_in,
        limit=limit,
    )
    # With the extensions, every case's proposals, ratings and newest appeal in one
    # more query each (per batch of ids: cogov.db.batches.ID_BATCH).
    case_ids = [case.id for case, _ in rows]
    proposals = proposals_for_cases(session, case_ids=case_ids) if extensions else {}
    ratings = ratings_for_cases(session, case_ids=case_ids) if extensions else {}
    appeals = latest_appeals(session, case_ids) if extensions else {}
    return [
        _record(
            case,
            workflow,
            config,
            language,
            proposals.get(case.id, []) if extensions else None,
            ratings,
            appeals,
        )
        for case, workflow in rows
    ]


def case_for_citizen_token(session: Session, token: str) -> CaseRead:
    if not token or len(token) > 200:
        raise UnknownCitizenToken()
    return case_for_token(session, token=token)

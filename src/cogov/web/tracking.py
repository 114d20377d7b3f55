"""What a citizen sees of their request: the request itself, where it stands, every
recorded step (from the ledger), and which AI touched it with its explanation.

Everything here is read from the domain packages; the web layer only chooses what a
citizen may see (no staff names, no other case's data) and words it in their language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from cogov.api.state import AppState
from cogov.control import (
    ProposalRead,
    WorkflowNotFound,
    WorkflowRead,
    get_workflow,
    proposals_for_case,
)
from cogov.intake import RATING_KIND, CaseRead, case_for_token
from cogov.ledger.schemas import LedgerEntryRead
from cogov.ledger.service import entries_for_case
from cogov.review import AppealRead, appeals_for_token, list_appeals
from cogov.web import explain
from cogov.web.forms import channel_label, short_language
from cogov.web.i18n import N_

if TYPE_CHECKING:
    from cogov.web.pages import Page

# How each kind of ledger entry reads on a citizen's timeline. Kinds not listed are
# shown with a general label, so a new kind never hides a step.
STEP_LABELS = {
    "case.received": N_("Your request was received"),
    "proposal.made": N_("An AI assistant made a suggestion"),
    "control.verdict": N_("Checked against the rules for AI assistants"),
    "control.gate_refused": N_("An AI assistant was not allowed to act on it"),
    "triage.failed": N_("An AI assistant could not read it; people will handle it"),
    "proposal.applied": N_("A decision took effect on your request"),
    "case.transitioned": N_("Its status changed"),
    "review.queued": N_("Sent to a person for review"),
    "review.claimed": N_("A reviewer picked it up"),
    "review.released": N_("Returned to the review queue"),
    "review.decided": N_("A person decided on the AI's suggestion"),
    "review.escalated": N_("Escalated to a senior reviewer"),
    # Written when the case is merged into another (control cancels what still waited
    # for a person, and review closes its items).
    "proposal.cancelled": N_(
        "An AI suggestion was withdrawn because this request was merged into another"
    ),
    "review.cancelled": N_(
        "A person's review was no longer needed because this request was merged into another"
    ),
    "appeal.filed": N_("You appealed"),
    "appeal.decided": N_("A person decided your appeal"),
    "case.rated": N_("You rated the service"),
    "case.contact_erased": N_("Your contact details were erased"),
}
OTHER_STEP = N_("A step was recorded")
STATE_LABELS = {
    "received": N_("Received"),
    "triaged": N_("Sorted"),
    "assigned": N_("Assigned to a department"),
    "in_progress": N_("Being worked on"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
    "merged": N_("Merged with an earlier report of the same problem"),
    "rejected": N_("Not taken forward"),
    "appealed": N_("Under appeal"),
    "reopened": N_("Reopened"),
}
ACTION_LABELS = {
    "route": N_("Which department should handle it"),
    "categorise": N_("What kind of problem it is"),
    "prioritise": N_("How urgent it is"),
    "mark_duplicate": N_("Whether it repeats an earlier report"),
    "draft_reply": N_("A draft reply"),
}
# Where a proposal stands (cogov.web.explain.standing): a proposal cancelled when its case
# was merged has no outcome, but is withdrawn, not waiting.
OUTCOME_LABELS = {
    explain.WAITING: N_("Waiting for a person to decide"),
    "applied": N_("Applied by the AI within the limits it is allowed"),
    "approved": N_("Approved by a person"),
    "edited": N_("Changed by a person"),
    "rejected": N_("Rejected by a person"),
    explain.WITHDRAWN: N_(
        "Withdrawn: this request was merged into another, so it will not take effect"
    ),
}
APPEAL_LABELS = {
    None: N_("A person who took no part in the decision will look at it"),
    "upheld": N_("Upheld: the decision was wrong and has been reopened"),
    "dismissed": N_("Not upheld: the decision stands"),
}
PRIORITY_LABELS = {
    "low": N_("Low"),
    "normal": N_("Normal"),
    "high": N_("High"),
    "urgent": N_("Urgent"),
}
ACTOR_LABELS = {
    "agent": N_("AI assistant"),
    "user": N_("Staff member"),
    "citizen": N_("You"),
    "system": N_("The system"),
}


@dataclass(frozen=True)
class Step:
    seq: int
    recorded_at: str
    label: str
    actor_kind: str
    actor_label: str
    agent: str | None


@dataclass(frozen=True)
class AiContribution:
    """One proposal an agent made for the case, as a citizen reads it."""

    id: str
    agent_id: str
    agent_version: str
    action: str
    action_label: str
    value: str
    final_value: str | None
    summary: str
    evidence: list[str]
    ai_drafted: bool
    outcome: str | None
    outcome_label: str

    @property
    def appealable(self) -> bool:
        """Decided (by the agent within its limits, or by a person): open to appeal."""
        return self.outcome is not None


@dataclass(frozen=True)
class AppealView:
    proposal_id: str
    filed_at: str
    state: str
    outcome: str | None
    outcome_label: str
    reason: str | None


@dataclass
class CaseStory:
    case: CaseRead
    service_name: str
    channel: str
    steps: list[Step] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    status: str | None = None
    department: str | None = None
    # The request this one was merged into (its number, public in Open311).
    duplicate_of: str | None = None
    reply: str | None = None
    reply_ai_drafted: bool = False
    proposals: list[AiContribution] = field(default_factory=list)
    appeals: list[AppealView] = field(default_factory=list)
    rating: int | None = None

    def appeal_for(self, proposal_id: str) -> AppealView | None:
        return next((a for a in self.appeals if a.proposal_id == proposal_id), None)


def _step(entry: LedgerEntryRead, page: Page) -> Step:
    kind, _, name = entry.actor.partition(":")
    return Step(
        seq=entry.seq,
        recorded_at=entry.recorded_at,
        label=page.gettext(STEP_LABELS.get(entry.kind, OTHER_STEP)),
        actor_kind=kind,
        actor_label=page.gettext(ACTOR_LABELS.get(kind, ACTOR_LABELS["system"])),
        # Agents are public (they are in the register); staff stay unnamed to citizens.
        agent=name if kind == "agent" else None,
    )


def state_label(state: str, gettext: Callable[[str], str]) -> str:
    label = STATE_LABELS.get(state)
    return gettext(label) if label else state


def shown_value(action: str, value: str | None, gettext: Callable[[str], str]) -> str:
    """A proposal's value as a person reads it (priorities translated)."""
    if value is None:
        return ""
    if action == "prioritise" and value in PRIORITY_LABELS:
        return gettext(PRIORITY_LABELS[value])
    return value


def contribution(proposal: ProposalRead, gettext: explain.Gettext) -> AiContribution:
    """One proposal as a person reads it, in the page's language: the explanation and
    evidence are worded from their structured data (cogov.web.explain), not the
    engine's English summary, which stays the record."""
    explanation = proposal.explanation or {}
    outcome = proposal.outcome.value if proposal.outcome else None
    items = [item for item in explanation.get("evidence", []) if isinstance(item, dict)]
    evidence = [explain.evidence_label(item, gettext) for item in items[:8]]
    value = shown_value(proposal.action, proposal.value, gettext)
    return AiContribution(
        id=proposal.id,
        agent_id=proposal.agent_id,
        agent_version=proposal.agent_version,
        action=proposal.action,
        action_label=gettext(ACTION_LABELS.get(proposal.action, OTHER_STEP)),
        value=value,
        final_value=shown_value(proposal.action, proposal.final_value, gettext)
        if proposal.final_value is not None and proposal.final_value != proposal.value
        else None,
        summary=explain.summary(
            action=proposal.action,
            value=proposal.value,
            shown_value=value,
            confidence=proposal.confidence,
            explanation=explanation,
            gettext=gettext,
        ),
        evidence=[label for label in evidence if label],
        ai_drafted=proposal.ai_drafted,
        outcome=outcome,
        outcome_label=gettext(OUTCOME_LABELS[explain.standing(proposal.state, proposal.outcome)]),
    )


def case_story(session: Session, *, token: str, state: AppState, page: Page) -> CaseStory:
    """The citizen's view of the case their token opens (raises CaseNotFound)."""
    case = case_for_token(session, token=token)
    service = state.intake.catalogue.get(case.service_code)
    lang = short_language(page.language)
    entries = entries_for_case(session, case.id)
    steps = [_step(entry, page) for entry in entries]
    ratings = [
        int(entry.payload["score"])
        for entry in entries
        if entry.kind == RATING_KIND and isinstance(entry.payload.get("score"), int)
    ]
    appeals = [
        AppealView(
            proposal_id=appeal.proposal_id,
            filed_at=appeal.filed_at,
            state=appeal.state,
            outcome=appeal.outcome,
            outcome_label=page.gettext(APPEAL_LABELS.get(appeal.outcome, APPEAL_LABELS[None])),
            reason=appeal.reason,
        )
        for appeal in appeals_for_token(session, token=token)
    ]
    proposals = [
        contribution(p, page.gettext) for p in proposals_for_case(session, case_id=case.id)
    ]
    agents = sorted({step.agent for step in steps if step.agent} | {p.agent_id for p in proposals})
    try:
        workflow: WorkflowRead | None = get_workflow(session, case_id=case.id)
    except WorkflowNotFound:
        workflow = None
    return CaseStory(
        case=case,
        service_name=service.name.get(lang) if service else case.service_code,
        channel=channel_label(case.channel, page.gettext),
        steps=steps,
        agents=agents,
        status=state_label(workflow.state, page.gettext) if workflow else None,
        department=workflow.department if workflow else None,
        duplicate_of=workflow.duplicate_of if workflow else None,
        reply=workflow.reply if workflow else None,
        reply_ai_drafted=bool(workflow and workflow.reply_ai_drafted),
        proposals=proposals,
        appeals=appeals,
        rating=ratings[-1] if ratings else None,
    )


def ai_work(
    session: Session, *, case_id: str, gettext: explain.Gettext
) -> tuple[list[AiContribution], dict[str, AppealRead]]:
    """For staff pages on one case: what the AI proposed, and each proposal's appeal
    (keyed by proposal id) where there is one."""
    proposals = [contribution(p, gettext) for p in proposals_for_case(session, case_id=case_id)]
    appeals = {
        appeal.proposal_id: appeal
        for appeal in list_appeals(session, states=None, case_id=case_id, limit=1_000)
    }
    return proposals, appeals

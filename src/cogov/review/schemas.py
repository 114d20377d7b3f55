"""What review hands back, and the settings it works by: plain, frozen values."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cogov.core.settings import Settings
from cogov.review.models import Appeal, ReviewItem
from cogov.review.rules import ReasonCodes


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    """Deadlines of the queue (see the ``review_*`` settings)."""

    deadline_hours: float = 24.0
    claim_minutes: float = 30.0
    escalation_hours: float = 8.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ReviewPolicy:
        return cls(
            deadline_hours=settings.review_deadline_hours,
            claim_minutes=settings.review_claim_minutes,
            escalation_hours=settings.review_escalation_hours,
        )


@dataclass(frozen=True, slots=True)
class ReviewItemRead:
    id: str
    case_id: str
    proposal_id: str
    agent_id: str
    team: str
    guardian: str
    backup_guardian: str
    reason: str
    queued_by: str
    state: str
    deadline: str
    created_at: str
    claimed_by: str | None
    claimed_at: str | None
    claim_expires_at: str | None
    escalated_to: str | None
    escalated_at: str | None
    decision: str | None
    decided_by: str | None
    decided_at: str | None
    reason_code: str | None
    reason_label: str | None
    reason_label_zh: str | None
    note: str | None
    final_value: str | None
    version: int

    @property
    def escalated(self) -> bool:
        return self.escalated_to is not None

    def overdue(self, now: str) -> bool:
        return self.state in ("queued", "claimed") and self.deadline <= now

    @classmethod
    def of(cls, row: ReviewItem, codes: ReasonCodes | None = None) -> ReviewItemRead:
        entry = codes.get(row.reason_code) if codes is not None and row.reason_code else None
        return cls(
            id=row.id,
            case_id=row.case_id,
            proposal_id=row.proposal_id,
            agent_id=row.agent_id,
            team=row.team,
            guardian=row.guardian,
            backup_guardian=row.backup_guardian,
            reason=row.reason,
            queued_by=row.queued_by,
            state=row.state,
            deadline=row.deadline,
            created_at=row.created_at,
            claimed_by=row.claimed_by,
            claimed_at=row.claimed_at,
            claim_expires_at=row.claim_expires_at,
            escalated_to=row.escalated_to,
            escalated_at=row.escalated_at,
            decision=row.decision,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            reason_code=row.reason_code,
            reason_label=entry.label.en if entry else None,
            reason_label_zh=entry.label.zh if entry else None,
            note=row.note,
            final_value=row.final_value,
            version=row.version,
        )

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class AppealRead:
    id: str
    case_id: str
    proposal_id: str
    review_item_id: str | None
    agent_id: str
    grounds: str
    entered_by: str | None
    filed_at: str
    # username -> their part in the original decision: none of them may decide it.
    excluded: dict[str, str]
    state: str
    outcome: str | None
    decided_by: str | None
    decided_at: str | None
    reason: str | None
    version: int

    @property
    def original_decision_wrong(self) -> bool:
        return self.outcome == "upheld"

    @classmethod
    def of(cls, row: Appeal) -> AppealRead:
        return cls(
            id=row.id,
            case_id=row.case_id,
            proposal_id=row.proposal_id,
            review_item_id=row.review_item_id,
            agent_id=row.agent_id,
            grounds=row.grounds,
            entered_by=row.entered_by,
            filed_at=row.filed_at,
            excluded=json.loads(row.excluded),
            state=row.state,
            outcome=row.outcome,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            reason=row.reason,
            version=row.version,
        )

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["original_decision_wrong"] = self.original_decision_wrong
        return data

"""What control takes and hands back: plain, frozen values."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cogov.control.models import CaseWorkflow, ProposalRecord
from cogov.control.process import ActorKind
from cogov.control.rules import Obligations, Verdict
from cogov.ledger import Responsible


class ProposalState(StrEnum):
    APPLIED = "applied"  # took effect without a human, within the agent's limits
    PENDING_REVIEW = "pending_review"  # waits for a human (review or deny verdict)
    DECIDED = "decided"  # a human decided: approved, edited or rejected
    # Never took effect and no longer waits for anyone: its case was merged into
    # another (ledger: proposal.cancelled, with the reason).
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    APPLIED = "applied"  # by the agent
    APPROVED = "approved"  # by a human, as proposed
    EDITED = "edited"  # by a human, with another value
    REJECTED = "rejected"  # by a human: not applied


PRIORITIES = ("low", "normal", "high", "urgent")


def developer_ref(agent_id: str, version: str, model_hash: str) -> str:
    """How every ledger entry names the developer's part: agent version and model."""
    return f"{agent_id}@{version} model:{model_hash}"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who takes a step: an agent, a staff user (human) or the citizen."""

    kind: ActorKind
    id: str

    @property
    def ledger_actor(self) -> str:
        prefix = {ActorKind.AGENT: "agent", ActorKind.HUMAN: "user", ActorKind.CITIZEN: "citizen"}
        return f"{prefix[self.kind]}:{self.id}"

    @classmethod
    def human(cls, username: str) -> Actor:
        return cls(ActorKind.HUMAN, username)

    @classmethod
    def agent(cls, agent_id: str) -> Actor:
        return cls(ActorKind.AGENT, agent_id)

    @classmethod
    def citizen(cls, case_id: str) -> Actor:
        return cls(ActorKind.CITIZEN, case_id)


@dataclass(frozen=True, slots=True)
class AgentContext:
    """One deployed agent as control sees it, for one case: who it is, what its
    grade obliges, its autonomy level now, and who answers for it."""

    agent_id: str
    version: str
    grade: str
    obligations: Obligations
    autonomy_level: int
    engine_ref: str
    model_hash: str
    threshold: float
    guardian: str | None = None  # username of the guardian on duty
    features: tuple[str, ...] = ()  # the input fields its engine reads
    developer_org: str | None = None
    deployer_org: str | None = None

    @property
    def developer(self) -> str:
        return developer_ref(self.agent_id, self.version, self.model_hash)

    def responsible(
        self, config_hash: str, *, operator: str | None = None, reviewer: str | None = None
    ) -> Responsible:
        """Who answers for a step of this agent. The organisations behind the
        developer and deployer are in the filing that agent id and version name."""
        return Responsible(
            developer=self.developer,
            deployer=f"config:{config_hash}",
            operator=f"user:{operator}" if operator else None,
            reviewer=f"user:{reviewer}" if reviewer else None,
            guardian=f"user:{self.guardian}" if self.guardian else None,
        )

    def as_rule_context(self) -> dict[str, Any]:
        return {
            "id": self.agent_id,
            "version": self.version,
            "grade": self.grade,
            "autonomy_level": self.autonomy_level,
            "engine": self.engine_ref,
            "features": list(self.features),
        }


@dataclass(frozen=True, slots=True)
class WorkflowRead:
    case_id: str
    process_id: str
    state: str
    department: str | None
    category: str | None
    priority: str | None
    duplicate_of: str | None
    reply: str | None
    reply_ai_drafted: bool
    routed_at: str | None
    routed_by: str | None
    updated_at: str
    version: int

    @classmethod
    def of(cls, row: CaseWorkflow) -> WorkflowRead:
        return cls(
            case_id=row.case_id,
            process_id=row.process_id,
            state=row.state,
            department=row.department,
            category=row.category,
            priority=row.priority,
            duplicate_of=row.duplicate_of,
            reply=row.reply,
            reply_ai_drafted=row.reply_ai_drafted,
            routed_at=row.routed_at,
            routed_by=row.routed_by,
            updated_at=row.updated_at,
            version=row.version,
        )


@dataclass(frozen=True, slots=True)
class ProposalRead:
    id: str
    case_id: str
    agent_id: str
    agent_version: str
    engine_ref: str
    model_hash: str
    action: str
    value: str
    confidence: float
    threshold: float
    explanation: dict[str, Any]
    ai_drafted: bool
    verdict: Verdict
    verdict_by: str
    reasons: list[dict[str, Any]]
    state: ProposalState
    config_hash: str
    created_at: str
    outcome: Outcome | None
    final_value: str | None
    decided_at: str | None
    reviewer_id: str | None

    @property
    def needs_human(self) -> bool:
        return self.state is ProposalState.PENDING_REVIEW

    @classmethod
    def of(cls, row: ProposalRecord) -> ProposalRead:
        return cls(
            id=row.id,
            case_id=row.case_id,
            agent_id=row.agent_id,
            agent_version=row.agent_version,
            engine_ref=row.engine_ref,
            model_hash=row.model_hash,
            action=row.action,
            value=row.value,
            confidence=row.confidence,
            threshold=row.threshold,
            explanation=json.loads(row.explanation),
            ai_drafted=row.ai_drafted,
            verdict=Verdict(row.verdict),
            verdict_by=row.verdict_by,
            reasons=json.loads(row.reasons),
            state=ProposalState(row.state),
            config_hash=row.config_hash,
            created_at=row.created_at,
            outcome=Outcome(row.outcome) if row.outcome else None,
            final_value=row.final_value,
            decided_at=row.decided_at,
            reviewer_id=row.reviewer_id,
        )


@dataclass(frozen=True, slots=True)
class GovernedCase:
    """What control did with one agent's proposals for one case."""

    workflow: WorkflowRead
    proposals: tuple[ProposalRead, ...] = field(default=())
    # Proposals made before this call (e.g. another agent's, already queued for
    # review) cancelled because this call merged the case: their review items go too.
    cancelled: tuple[ProposalRead, ...] = field(default=())

    @property
    def pending(self) -> tuple[ProposalRead, ...]:
        """Proposals that wait for a human: the pipeline queues them for review."""
        return tuple(p for p in self.proposals if p.state is ProposalState.PENDING_REVIEW)

    @property
    def applied(self) -> tuple[ProposalRead, ...]:
        return tuple(p for p in self.proposals if p.state is ProposalState.APPLIED)

"""What the registry takes in (a filing document) and hands out (filings, agents,
history, gate decisions, public register entries)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cogov.core.types import Grade
from cogov.ledger import Responsible
from cogov.registry.obligations import Obligations, obligations_for
from cogov.registry.rules import FilingStatus


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Organisation(_Frozen):
    organisation: str
    contact: str


class ModelInfo(_Frozen):
    description: str
    version: str | None = None
    hash: str


class TrainingData(_Frozen):
    description: str
    snapshot_hash: str


class ImpactAssessment(_Frozen):
    answers: dict[str, str | list[str]]
    notes: str | None = None


class Review(_Frozen):
    status: str
    reference: str | None = None
    date: str | None = None


class FilingDocument(_Frozen):
    """One version of a filing, as the YAML file gives it (see data/filing.schema.json)."""

    agent_id: str
    name: str
    purpose: str
    services: list[str]
    algorithm_type: str
    model: ModelInfo
    training_data: TrainingData
    developer: Organisation
    deployer: Organisation
    operating_department: str
    guardian: str
    backup_guardian: str
    security_responsible: str
    legal_basis: str
    human_intervention: str
    appeal: str
    languages: list[str]
    confidence_threshold: float
    impact_assessment: ImpactAssessment
    security_assessment: Review
    ethics_review: Review
    sandbox_report: str | None = None
    public_summary: str
    technical_detail: str
    public_contact: str | None = None
    website: str | None = None


class FindingRead(_Frozen):
    use: str
    source: str
    evidence: str
    language: str


class AssessmentRead(_Frozen):
    questionnaire_version: int
    raw_score: int
    max_raw_score: int
    mitigation_score: int
    max_mitigation_score: int
    mitigation_deducted: bool
    current_score: int
    share: float
    grade: Grade
    prohibited: list[FindingRead]


class FilingRead(_Frozen):
    agent_id: str
    version: int
    status: FilingStatus
    grade: Grade
    prohibited: bool
    assessment: AssessmentRead
    document: FilingDocument
    document_hash: str
    filed_at: datetime
    filed_by: str
    submitted_by: str | None
    status_changed_at: datetime
    sandbox_report_id: str | None
    sandbox_report_approved_by: str | None
    sandbox_report_approved_at: datetime | None

    @property
    def obligations(self) -> Obligations:
        return obligations_for(self.grade)

    @property
    def responsible(self) -> Responsible:
        """Who answers for this version: developer (organisation, agent version,
        model hash), deployer (organisation, filing hash) and the filed guardian."""
        return responsible_for(self, guardian=self.document.guardian)


class AgentRead(_Frozen):
    agent_id: str
    created_at: datetime
    active_version: int | None
    guardian: str | None
    backup_guardian: str | None
    paused: bool
    paused_at: datetime | None
    paused_by: str | None
    pause_reason: str | None
    latest: FilingRead


class HistoryEvent(_Frozen):
    agent_id: str
    version: int | None
    action: str
    from_status: FilingStatus | None
    to_status: FilingStatus | None
    actor: str
    reason: str | None
    at: datetime
    ledger_seq: int


class ActivePeriod(_Frozen):
    """One stretch of time during which one version was active."""

    version: int
    active_from: datetime
    active_until: datetime | None  # None: still active


class GateDecision(_Frozen):
    """The deployment gate's answer: may this agent act on this service now, and how.

    ``reasons`` are full sentences; when ``allowed`` is False each says what stops
    the agent. ``responsible`` is ready for ledger entries (add the operator)."""

    allowed: bool
    reasons: list[str]
    agent_id: str
    service_code: str
    checked_at: datetime
    version: int | None = None
    grade: Grade | None = None
    obligations: dict[str, Any] | None = Field(
        default=None, description="Obligations.as_dict() of the grade"
    )
    confidence_threshold: float | None = None
    guardian: str | None = None
    backup_guardian: str | None = None
    developer_org: str | None = None
    deployer: str | None = None
    operating_department: str | None = None
    model_hash: str | None = None
    filing_hash: str | None = None
    responsible: Responsible = Responsible()

    @property
    def obligations_data(self) -> Obligations | None:
        return obligations_for(self.grade) if self.grade is not None else None


class PublicRegisterEntry(_Frozen):
    """Tier-1, plain-language facts about one active agent, for the public register."""

    agent_id: str
    version: int
    name: str
    summary: str
    purpose: str
    services: list[str]
    grade: Grade
    human_oversight_en: str
    human_oversight_zh: str
    human_intervention: str
    how_to_appeal: str
    languages: list[str]
    operating_department: str
    developer: str
    deployer: str
    has_guardian_on_duty: bool
    paused: bool
    active_since: datetime | None
    public_contact: str | None
    website: str | None


ExportFormat = Literal["atrs", "algoritmeregister", "markdown"]


def responsible_for(filing: FilingRead, *, guardian: str | None) -> Responsible:
    doc = filing.document
    return Responsible(
        developer=(
            f"{doc.developer.organisation} | {filing.agent_id}@{filing.version}"
            f" | model sha256:{doc.model.hash}"
        ),
        deployer=f"{doc.deployer.organisation} | filing sha256:{filing.document_hash}",
        guardian=f"user:{guardian}" if guardian else None,
    )

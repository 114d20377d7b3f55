"""Tables of control: where each case stands in its process, every proposal an
engine made and what happened to it, and the configurations that decided them."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from cogov.db.base import Base


class CaseWorkflow(Base):
    """The working state of one case: its place in the standard process and what
    has been decided for it so far (by an agent within its limits, or a human)."""

    __tablename__ = "case_workflows"

    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"), primary_key=True)
    process_id: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    department: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[str | None] = mapped_column(String(16))
    duplicate_of: Mapped[str | None] = mapped_column(String(36), ForeignKey("cases.id"))
    # The reply published to the citizen, and whether an agent drafted it (AI label).
    reply: Mapped[str | None] = mapped_column(Text)
    reply_ai_drafted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # When and by whom the department was first set: "time to route" for audits.
    routed_at: Mapped[str | None] = mapped_column(String(27))
    routed_by: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[str] = mapped_column(String(27), nullable=False)
    # Bumped on every change: a writer holding a stale copy fails instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    # The repeats merged into a case, found without a scan; partial, so the cases never
    # merged (nearly all) cost no index entry (migration 0511).
    __table_args__ = (
        Index(
            "ix_case_workflows_duplicate_of",
            "duplicate_of",
            postgresql_where=text("duplicate_of IS NOT NULL"),
            sqlite_where=text("duplicate_of IS NOT NULL"),
        ),
    )


class ProposalRecord(Base):
    """One proposal an engine made for a case, the verdict control gave it, and
    its state: applied (by the agent, within its limits), pending review, decided
    (by a human: approved, edited or rejected), or cancelled (withdrawn unanswered,
    when its case was merged into another as a repeat)."""

    __tablename__ = "proposals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("cases.id"), nullable=False, index=True
    )
    # Looked up through ix_proposals_agent_id_created_at (declared by autonomy), whose
    # leading column it is; its own index was dropped as redundant in 0612.
    agent_id: Mapped[str] = mapped_column(String(64), nullable=False)
    agent_version: Mapped[str] = mapped_column(String(32), nullable=False)
    engine_ref: Mapped[str] = mapped_column(String(200), nullable=False)
    model_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    confidence: Mapped[float] = mapped_column(Float, nullable=False)
    threshold: Mapped[float] = mapped_column(Float, nullable=False)
    # Canonical JSON: {"summary", "evidence": [{kind, label, weight}], "alternatives"}.
    explanation: Mapped[str] = mapped_column(Text, nullable=False)
    ai_drafted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    verdict: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    # What decided the verdict: "rule:<id>", "obligation:<name>", "process:<id>", ...
    verdict_by: Mapped[str] = mapped_column(String(160), nullable=False)
    # Canonical JSON list of every check that spoke: [{ref, verdict, reason (English),
    # code, params, reason_zh (negative-list rules)}]; code and params: control.rules.
    reasons: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    # Hash of the control configuration in force (rules, processes, thresholds): the deployer's.
    config_hash: Mapped[str] = mapped_column(
        String(64), ForeignKey("control_configs.config_hash"), nullable=False
    )
    created_at: Mapped[str] = mapped_column(String(27), nullable=False)
    # Set when applied or when a human decided: outcome applied|approved|edited|rejected.
    outcome: Mapped[str | None] = mapped_column(String(16))
    final_value: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[str | None] = mapped_column(String(27))
    # The human who decided (user id), when one did.
    reviewer_id: Mapped[str | None] = mapped_column(String(64))


class ControlConfig(Base):
    """Every control configuration that has decided anything, by its hash, so a
    ledger entry's deployer hash can always be resolved to the rules behind it."""

    __tablename__ = "control_configs"

    config_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    first_used_at: Mapped[str] = mapped_column(String(27), nullable=False)

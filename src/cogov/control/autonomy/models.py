"""Tables of dynamic autonomy: each agent's level now, and every change with the
numbers or the sign-off behind it."""

from __future__ import annotations

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cogov.control.models import ProposalRecord
from cogov.db.base import Base

# The controller's window (an agent's latest proposals) is read on every human
# decision: this index on control's table finds it without sorting all the agent's
# proposals. Declared here, with the migration that made it (0611_autonomy_counters).
PROPOSALS_BY_AGENT_AND_TIME = Index(
    "ix_proposals_agent_id_created_at",
    ProposalRecord.__table__.c.agent_id,
    ProposalRecord.__table__.c.created_at,
    ProposalRecord.__table__.c.id,
)


class AgentAutonomy(Base):
    """The autonomy level an agent holds now (the grade's ceiling still caps it)."""

    __tablename__ = "agent_autonomy"

    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    # When and by whom the level was last set (None: never; the initial level holds).
    # The controller judges only decisions made since then.
    changed_at: Mapped[str | None] = mapped_column(String(27))
    changed_by: Mapped[str | None] = mapped_column(String(128))
    # When the controller last looked, and what it saw (canonical JSON metrics).
    evaluated_at: Mapped[str | None] = mapped_column(String(27))
    last_metrics: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class AutonomyChange(Base):
    """One change of an agent's level: lowered by the controller, raised by its
    guardian, or first set."""

    __tablename__ = "autonomy_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    from_level: Mapped[int | None] = mapped_column(Integer)
    to_level: Mapped[int] = mapped_column(Integer, nullable=False)
    # initial | lowered | raised
    direction: Mapped[str] = mapped_column(String(16), nullable=False)
    changed_by: Mapped[str] = mapped_column(String(128), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    # Canonical JSON: the metrics and breaches that caused a lowering.
    evidence: Mapped[str] = mapped_column(Text, nullable=False)
    changed_at: Mapped[str] = mapped_column(String(27), nullable=False, index=True)

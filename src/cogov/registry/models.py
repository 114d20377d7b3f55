"""Tables of the registry: agents (run-time binding: active version, guardians,
kill switch), their filing versions, and the history of every step."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cogov.db.base import Base
from cogov.identity import UtcDateTime


class RegistryAgent(Base):
    """One digital employee across its versions, and how it is bound at run time."""

    __tablename__ = "registry_agents"

    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    active_version: Mapped[int | None] = mapped_column(Integer)
    # Guardians on duty now; set from the filing on activation, reassignable after.
    guardian_username: Mapped[str | None] = mapped_column(String(64), ForeignKey("users.username"))
    backup_guardian_username: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("users.username")
    )
    # The guardian's kill switch: while paused the gate says no, whatever the status.
    paused: Mapped[bool] = mapped_column(Boolean, nullable=False)
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paused_by: Mapped[str | None] = mapped_column(String(64))
    pause_reason: Mapped[str | None] = mapped_column(Text)


class RegistryFiling(Base):
    """One version of an agent's filing. The document is kept whole (canonical JSON),
    so old versions stay readable exactly as filed."""

    __tablename__ = "registry_filings"
    __table_args__ = (UniqueConstraint("agent_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agent_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("registry_agents.agent_id"), nullable=False, index=True
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    agent_name: Mapped[str] = mapped_column(String(200), nullable=False)
    document: Mapped[str] = mapped_column(Text, nullable=False)
    document_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    grade: Mapped[str] = mapped_column(String(4), nullable=False)
    assessment: Mapped[str] = mapped_column(Text, nullable=False)
    prohibited: Mapped[bool] = mapped_column(Boolean, nullable=False)
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    filed_by: Mapped[str] = mapped_column(String(128), nullable=False)
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    # An approved sandbox report, attached by the sandbox (grades III and IV need one).
    sandbox_report_id: Mapped[str | None] = mapped_column(String(200))
    sandbox_report_hash: Mapped[str | None] = mapped_column(String(64))
    sandbox_report_approved_by: Mapped[str | None] = mapped_column(String(64))
    sandbox_report_approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RegistryEvent(Base):
    """One step in an agent's history (filed, submitted, ..., paused, resumed),
    pointing at the ledger entry that records it."""

    __tablename__ = "registry_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agent_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("registry_agents.agent_id"), nullable=False, index=True
    )
    version: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    ledger_seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), nullable=False
    )

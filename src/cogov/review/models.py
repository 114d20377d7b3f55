"""Tables of review: the human review queue, who claimed what, review teams, and
citizens' appeals. Times are ISO-8601 UTC text (``iso_utc``), like the case tables,
so they sort and compare as text on every backend."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cogov.db.base import Base


class ReviewItem(Base):
    """One proposal waiting for, or decided by, a human."""

    __tablename__ = "review_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("cases.id"), nullable=False, index=True
    )
    # One review per proposal: a second enqueue of the same proposal is refused.
    proposal_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("proposals.id"), nullable=False, unique=True
    )
    agent_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    team: Mapped[str] = mapped_column(String(120), nullable=False, index=True)
    guardian: Mapped[str] = mapped_column(String(64), nullable=False)
    backup_guardian: Mapped[str] = mapped_column(String(64), nullable=False)
    # Why a human must look (e.g. the rule or obligation that sent it here).
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    queued_by: Mapped[str] = mapped_column(String(160), nullable=False)
    # queued | claimed | decided
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    deadline: Mapped[str] = mapped_column(String(27), nullable=False, index=True)
    created_at: Mapped[str] = mapped_column(String(27), nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[str | None] = mapped_column(String(27))
    # A claim not decided by then is abandoned: others may take the item.
    claim_expires_at: Mapped[str | None] = mapped_column(String(27))
    # Set when the deadline passed undecided: only the backup guardian works it now.
    escalated_to: Mapped[str | None] = mapped_column(String(64))
    escalated_at: Mapped[str | None] = mapped_column(String(27))
    # approved | edited | rejected
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[str | None] = mapped_column(String(27))
    reason_code: Mapped[str | None] = mapped_column(String(40))
    # The reviewer's own words, kept and shown with the decision later.
    note: Mapped[str | None] = mapped_column(Text)
    final_value: Mapped[str | None] = mapped_column(Text)
    # Bumped on every change: a writer holding a stale copy fails instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class ReviewClaim(Base):
    """Every claim on an item, so "who took part" survives released or lapsed claims."""

    __tablename__ = "review_claims"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    item_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("review_items.id"), nullable=False, index=True
    )
    reviewer: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    claimed_at: Mapped[str] = mapped_column(String(27), nullable=False)
    ended_at: Mapped[str | None] = mapped_column(String(27))
    # decided | released | lapsed | escalated
    ended_how: Mapped[str | None] = mapped_column(String(16))


class ReviewTeamMember(Base):
    """A reviewer who works a team's queue (besides the agents' guardians)."""

    __tablename__ = "review_team_members"

    team: Mapped[str] = mapped_column(String(120), primary_key=True)
    username: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.username"), primary_key=True, index=True
    )
    added_by: Mapped[str] = mapped_column(String(64), nullable=False)
    added_at: Mapped[str] = mapped_column(String(27), nullable=False)


class Appeal(Base):
    """A citizen's appeal against one decision an agent touched (one per decision)."""

    __tablename__ = "appeals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("cases.id"), nullable=False, index=True
    )
    proposal_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("proposals.id"), nullable=False, unique=True
    )
    review_item_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("review_items.id"), index=True
    )
    agent_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    # The citizen's words. Never copied into the ledger (it may hold personal data).
    grounds: Mapped[str] = mapped_column(Text, nullable=False)
    # Staff user who filed it for the citizen (assisted), if any.
    entered_by: Mapped[str | None] = mapped_column(String(64))
    filed_at: Mapped[str] = mapped_column(String(27), nullable=False, index=True)
    # Canonical JSON {username: why they took part}: none of them may decide it.
    excluded: Mapped[str] = mapped_column(Text, nullable=False)
    # filed | decided
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    # upheld | dismissed. Upheld: the original decision was wrong.
    outcome: Mapped[str | None] = mapped_column(String(16), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[str | None] = mapped_column(String(27), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

"""What the autonomy controller hands back: plain, frozen values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cogov.control.autonomy.rules import AutonomyLevel, Thresholds
from cogov.core.settings import Settings


@dataclass(frozen=True, slots=True)
class AutonomyPolicy:
    """The controller's settings: the initial level and the thresholds."""

    initial_level: int = 1
    thresholds: Thresholds = field(default_factory=Thresholds)

    @classmethod
    def from_settings(cls, settings: Settings) -> AutonomyPolicy:
        return cls(
            initial_level=settings.autonomy_initial_level,
            thresholds=Thresholds(
                window_decisions=settings.autonomy_window_decisions,
                window_days=settings.autonomy_window_days,
                min_decisions=settings.autonomy_min_decisions,
                min_reviewed=settings.autonomy_min_reviewed,
                max_override_rate=settings.autonomy_max_override_rate,
                max_upheld_appeal_rate=settings.autonomy_max_upheld_appeal_rate,
                max_negative_list_rate=settings.autonomy_max_negative_list_rate,
                max_group_gap=settings.autonomy_max_group_gap,
                min_group_size=settings.autonomy_min_group_size,
            ),
        )


@dataclass(frozen=True, slots=True)
class AutonomyChangeRead:
    agent_id: str
    from_level: int | None
    to_level: int
    direction: str  # lowered | raised
    changed_by: str
    reason: str
    evidence: dict[str, Any]
    changed_at: str


@dataclass(frozen=True, slots=True)
class AutonomyRead:
    """An agent's autonomy: the level held, the grade's ceiling, the level in force."""

    agent_id: str
    level: int  # as held (set, or the initial level when never set)
    ceiling: int  # the grade's max_autonomy_level
    effective: int  # min(level, ceiling): what routing uses
    changed_at: str | None
    changed_by: str | None
    evaluated_at: str | None
    last_metrics: dict[str, Any] | None
    history: tuple[AutonomyChangeRead, ...] = ()

    @property
    def description(self) -> str:
        return AutonomyLevel(self.effective).description

    def as_dict(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "level": self.level,
            "ceiling": self.ceiling,
            "effective": self.effective,
            "description": self.description,
            "changed_at": self.changed_at,
            "changed_by": self.changed_by,
            "evaluated_at": self.evaluated_at,
            "last_metrics": self.last_metrics,
            "history": [
                {
                    "from_level": change.from_level,
                    "to_level": change.to_level,
                    "direction": change.direction,
                    "changed_by": change.changed_by,
                    "reason": change.reason,
                    "evidence": change.evidence,
                    "changed_at": change.changed_at,
                }
                for change in self.history
            ],
        }


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One run of the controller for one agent."""

    agent_id: str
    from_level: int
    to_level: int
    metrics: dict[str, Any]
    breaches: tuple[dict[str, Any], ...]
    evaluated_at: str

    @property
    def lowered(self) -> bool:
        return self.to_level < self.from_level

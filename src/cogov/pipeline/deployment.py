"""What is in force when cases walk the path: the agency's intake and control
configuration, the engine each deployed agent runs, and the clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from cogov.control import ControlConfig, load_control_config
from cogov.core.clock import Clock, SystemClock
from cogov.core.settings import Settings
from cogov.intake import Catalogue, IntakeConfig, load_intake_config
from cogov.review import ReviewPolicy
from cogov.triage.protocol import TriageEngine


@dataclass(frozen=True)
class Deployment:
    """Everything that decides how a case is handled. ``engines`` maps each agent
    id to the engine it runs; the registry decides whether the agent may act."""

    intake: IntakeConfig
    control: ControlConfig
    engines: Mapping[str, TriageEngine]
    clock: Clock = field(default_factory=SystemClock)
    review_policy: ReviewPolicy = field(default_factory=ReviewPolicy)

    @cached_property
    def thresholds(self) -> dict[str, float]:
        return {agent_id: float(engine.threshold) for agent_id, engine in self.engines.items()}

    @cached_property
    def config_hash(self) -> str:
        """The deployer's configuration hash: rules, processes, routing policy and
        every agent's threshold in force."""
        return self.control.hash(self.thresholds)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        engines: Mapping[str, TriageEngine],
        catalogue: Catalogue | None = None,
        clock: Clock | None = None,
    ) -> Deployment:
        return cls(
            intake=load_intake_config(settings, catalogue=catalogue),
            control=load_control_config(settings),
            engines=dict(engines),
            clock=clock or SystemClock(),
            review_policy=ReviewPolicy.from_settings(settings),
        )


def engine_features(engine: TriageEngine) -> tuple[str, ...]:
    """The input fields an engine reads (checked by the negative list: no group or
    protected attribute may be among them)."""
    columns = getattr(engine, "text_columns", ())
    return ("description", *(str(column) for column in columns))

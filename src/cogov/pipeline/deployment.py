"""What is in force when cases walk the path: the agency's intake and control
configuration, the engine each deployed agent runs, and the clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol, runtime_checkable

from cogov.control import ControlConfig, load_control_config
from cogov.core.clock import Clock, SystemClock
from cogov.core.settings import Settings
from cogov.intake import Catalogue, IntakeConfig, load_intake_config
from cogov.review import ReviewPolicy
from cogov.triage.protocol import CaseView, TriageEngine


@runtime_checkable
class OpenCaseIndex(Protocol):
    """An engine that remembers open cases (e.g. to spot repeats of them): the
    pipeline tells it of every new case once the case is stored."""

    def add(self, case: CaseView) -> None: ...

    def remove(self, case_id: str) -> None: ...


@runtime_checkable
class PreparesBatch(Protocol):
    """An engine that works faster when told which cases come next (e.g. it
    vectorises their texts in one pass); its proposals do not change."""

    def prepare(self, cases: Sequence[CaseView]) -> None: ...


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
    def open_case_indexes(self) -> tuple[OpenCaseIndex, ...]:
        """The engines told of every new case (asked once, not per case)."""
        return tuple(e for e in self.engines.values() if isinstance(e, OpenCaseIndex))

    @cached_property
    def batch_preparers(self) -> tuple[PreparesBatch, ...]:
        return tuple(e for e in self.engines.values() if isinstance(e, PreparesBatch))

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

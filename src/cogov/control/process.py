"""Standard processes as data: states, the transitions between them and who may
take each, and in which states each kind of proposal may take effect."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cogov.control.errors import ConfigInvalid


class ActorKind(StrEnum):
    AGENT = "agent"
    HUMAN = "human"
    CITIZEN = "citizen"


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)


class Transition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_states: tuple[str, ...] = Field(alias="from", min_length=1)
    to: str
    by: tuple[ActorKind, ...] = Field(min_length=1)


class Process(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    name: Label
    initial: str
    states: tuple[str, ...] = Field(min_length=2)
    transitions: tuple[Transition, ...] = Field(min_length=1)
    actions: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _states_are_known(self) -> Process:
        known = set(self.states)
        if self.initial not in known:
            raise ValueError(f"initial state {self.initial!r} is not among the states")
        for index, step in enumerate(self.transitions):
            for state in (*step.from_states, step.to):
                if state not in known:
                    raise ValueError(f"transitions[{index}]: unknown state {state!r}")
        for action, states in self.actions.items():
            for state in states:
                if state not in known:
                    raise ValueError(f"actions.{action}: unknown state {state!r}")
        return self

    @cached_property
    def _allowed(self) -> Mapping[tuple[str, str], frozenset[ActorKind]]:
        allowed: dict[tuple[str, str], set[ActorKind]] = {}
        for step in self.transitions:
            for source in step.from_states:
                allowed.setdefault((source, step.to), set()).update(step.by)
        return {key: frozenset(kinds) for key, kinds in allowed.items()}

    def who_may(self, from_state: str, to_state: str) -> frozenset[ActorKind]:
        """The kinds of actor that may take this step (empty: not in the process)."""
        return self._allowed.get((from_state, to_state), frozenset())

    def refusal(self, from_state: str, to_state: str, kind: ActorKind) -> str | None:
        """Why this actor may not take this step, or None when it may."""
        if to_state not in self.states:
            return f"{to_state!r} is not a state of process {self.id!r}"
        kinds = self.who_may(from_state, to_state)
        if not kinds:
            return f"process {self.id!r} has no step from {from_state!r} to {to_state!r}"
        if kind not in kinds:
            names = ", ".join(sorted(k.value for k in kinds))
            return f"only {names} may take this step, not {kind.value}"
        return None

    def action_states(self, action: str) -> tuple[str, ...]:
        return self.actions.get(action, ())


class ProcessBook(BaseModel):
    """Every process, and which service follows which ("*" for the rest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    processes: tuple[Process, ...] = Field(min_length=1)
    services: dict[str, str]

    @field_validator("services")
    @classmethod
    def _has_default(cls, services: dict[str, str]) -> dict[str, str]:
        if "*" not in services:
            raise ValueError('needs a "*" entry: the process of every other service')
        return services

    @model_validator(mode="after")
    def _known_processes(self) -> ProcessBook:
        ids = {process.id for process in self.processes}
        if len(ids) != len(self.processes):
            raise ValueError("two processes share an id")
        for code, process_id in self.services.items():
            if process_id not in ids:
                raise ValueError(f"services.{code}: unknown process {process_id!r}")
        return self

    @cached_property
    def by_id(self) -> Mapping[str, Process]:
        return {process.id: process for process in self.processes}

    def for_service(self, service_code: str) -> Process:
        return self.by_id[self.services.get(service_code, self.services["*"])]

    def get(self, process_id: str) -> Process:
        return self.by_id[process_id]


def _read(path: Path | None, default_name: str) -> tuple[str, str]:
    if path is None:
        text = resources.files("cogov.control").joinpath("data", default_name).read_text("utf-8")
        return f"cogov/control/data/{default_name}", text
    return str(path), path.read_text(encoding="utf-8")


def parse_yaml(source: str, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigInvalid(source, f"not valid YAML: {exc}", line=line) from None


def validation_reason(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def load_processes(path: Path | None = None) -> ProcessBook:
    """The processes in ``path`` (YAML), or cogov's default standard process."""
    source, text = _read(path, "processes.yaml")
    try:
        return ProcessBook.model_validate(parse_yaml(source, text))
    except ValidationError as exc:
        raise ConfigInvalid(source, validation_reason(exc)) from None

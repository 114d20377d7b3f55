"""The control configuration in force: processes, negative list and routing
policy, loaded and checked once, and hashed (with the agents' thresholds) into
the deployer's configuration hash that every ledger entry of the path names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cogov.control.errors import ConfigInvalid
from cogov.control.negative_list import NegativeList, load_negative_list
from cogov.control.process import ProcessBook, load_processes, parse_yaml, validation_reason
from cogov.control.rules import RoutingPolicy
from cogov.core.canonical import canonical_json, sha256_hex
from cogov.core.settings import Settings


class _RoutingFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action_levels: dict[str, int] = Field(min_length=1)
    citizen_affecting: tuple[str, ...] = ()
    threshold_floor: dict[str, float] = Field(default_factory=dict)
    order: tuple[str, ...] = ()
    supervised_sample_rate: float = Field(default=0.0, ge=0.0, le=1.0)

    def policy(self) -> RoutingPolicy:
        for action, level in self.action_levels.items():
            if not 0 <= level <= 4:
                raise ValueError(f"action_levels.{action}: {level} is outside 0-4 (4: never)")
        for action, floor in self.threshold_floor.items():
            if not 0.0 <= floor <= 1.0:
                raise ValueError(f"threshold_floor.{action}: {floor} is outside [0, 1]")
        return RoutingPolicy(
            action_levels=dict(self.action_levels),
            citizen_affecting=frozenset(self.citizen_affecting),
            threshold_floor=dict(self.threshold_floor),
            order=self.order,
            supervised_sample_rate=self.supervised_sample_rate,
        )


def load_routing_policy(path: Path | None = None) -> RoutingPolicy:
    if path is None:
        source = "cogov/control/data/routing.yaml"
        text = resources.files("cogov.control").joinpath("data", "routing.yaml").read_text("utf-8")
    else:
        source, text = str(path), path.read_text(encoding="utf-8")
    try:
        return _RoutingFile.model_validate(parse_yaml(source, text)).policy()
    except ValidationError as exc:
        raise ConfigInvalid(source, validation_reason(exc)) from None
    except ValueError as exc:
        raise ConfigInvalid(source, str(exc)) from None


@dataclass(frozen=True, slots=True)
class ControlConfig:
    processes: ProcessBook
    negative_list: NegativeList
    routing: RoutingPolicy

    def body(self, thresholds: Mapping[str, float]) -> dict[str, Any]:
        """Everything that decides a verdict, as plain data: processes, rules,
        routing policy, and the confidence threshold of each agent in force."""
        return {
            "processes": self.processes.model_dump(mode="json", by_alias=True),
            "negative_list": self.negative_list.as_config(),
            "routing": {
                "action_levels": dict(self.routing.action_levels),
                "citizen_affecting": sorted(self.routing.citizen_affecting),
                "threshold_floor": dict(self.routing.threshold_floor),
                "order": list(self.routing.order),
                "supervised_sample_rate": self.routing.supervised_sample_rate,
            },
            "thresholds": {agent: float(value) for agent, value in sorted(thresholds.items())},
        }

    def hash(self, thresholds: Mapping[str, float]) -> str:
        return sha256_hex(canonical_json(self.body(thresholds)))


def load_control_config(settings: Settings | None = None) -> ControlConfig:
    """The agency's files in ``agency_config_dir`` where present, else the defaults."""
    folder = settings.agency_config_dir if settings is not None else None

    def agency_file(name: str) -> Path | None:
        if folder is None:
            return None
        path = folder / name
        return path if path.exists() else None

    return ControlConfig(
        processes=load_processes(agency_file("processes.yaml")),
        negative_list=load_negative_list(agency_file("negative-list.yaml")),
        routing=load_routing_policy(agency_file("routing.yaml")),
    )

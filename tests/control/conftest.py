"""Helpers for control's tests: a case in its workflow, an agent, proposals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from cogov.control import AgentContext, ControlConfig, Obligations, load_control_config
from cogov.control.service import open_workflow, record_config
from cogov.intake import CaseRead, IntakeConfig, load_catalogue, load_group_attributes, submit
from cogov.triage.protocol import ActionKind, Evidence, EvidenceKind, Explanation, Proposal

INTAKE = IntakeConfig(
    catalogue=load_catalogue(), groups=load_group_attributes(), token_key=b"t" * 32
)
CONTROL = load_control_config()


def make_agent(**overrides: Any) -> AgentContext:
    values: dict[str, Any] = {
        "agent_id": "router",
        "version": "3",
        "grade": "I",
        "obligations": Obligations(max_autonomy_level=3),
        "autonomy_level": 3,
        "engine_ref": "cogov-default@1#abc",
        "model_hash": "a" * 64,
        "threshold": 0.8,
        "guardian": "g.wang",
        "features": ("description",),
    }
    values.update(overrides)
    return AgentContext(**values)


def make_proposal(
    action: str = "route", value: str = "Sanitation", confidence: float = 0.95, **extra: Any
) -> Proposal:
    return Proposal(
        action=ActionKind(action),
        value=value,
        confidence=confidence,
        explanation=Explanation(
            summary=f"{action} -> {value}",
            evidence=(Evidence(EvidenceKind.TOKEN, extra.pop("label", "mattress"), 0.5),),
        ),
        **extra,
    )


@pytest.fixture
def config() -> ControlConfig:
    return CONTROL


@pytest.fixture
def new_case(db_session: Session) -> Callable[..., CaseRead]:
    def make(**overrides: Any) -> CaseRead:
        body: dict[str, Any] = {
            "service_code": "illegal_dumping",
            "description": "Mattress dumped on the kerb",
            "address_string": "12 Main St",
        }
        body.update(overrides)
        case = submit(db_session, body, config=INTAKE).case
        open_workflow(db_session, case=case, config=CONTROL)
        return case

    return make


@pytest.fixture
def config_hash(db_session: Session) -> str:
    return record_config(db_session, config=CONTROL, thresholds={"router": 0.8}, clock=None)

"""Helpers for registry tests: staff users, filing documents of each grade, and an
agent walked to any lifecycle status."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from cogov.core.clock import FixedClock
from cogov.core.types import Role
from cogov.identity import add_user
from cogov.registry import (
    FilingRead,
    activate,
    approve,
    file_agent,
    parse_filing,
    submit,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "router-agent.yaml"

# Answers that give each grade (raw score out of 24; see data/questionnaire.yaml).
NO_PROHIBITED = {
    "scores_people_behaviour": "no",
    "infers_protected_traits": "no",
    "biometric_categorisation": "no",
    "manipulation": "no",
}
GRADE_ANSWERS: dict[str, dict[str, Any]] = {
    "I": {  # raw 0
        "decision_affects": "information",
        "autonomy": "suggests_only",
        "reversibility": "easily_reversible",
        "duration": "days",
        "vulnerability": "general_public",
        "data_sensitivity": "none",
        "scale": "small",
        "explainability": "fully",
        "data_sources": "own_records",
        "mitigations": [],
        **NO_PROHIBITED,
    },
    "II": {  # raw 9, mitigation 12/14 -> 15% off -> 8 = 33%
        "decision_affects": "routing",
        "autonomy": "acts_with_sampling",
        "reversibility": "easily_reversible",
        "duration": "days",
        "vulnerability": "includes_vulnerable",
        "data_sensitivity": "personal",
        "scale": "large",
        "explainability": "partly",
        "data_sources": "own_records",
        "mitigations": [
            "documented_human_review",
            "appeal_to_human",
            "bias_tested",
            "group_monitoring",
            "explanation_to_person",
            "data_quality_checked",
            "guardian_trained",
            "publicly_registered",
        ],
        **NO_PROHIBITED,
    },
    "III": {  # raw 13 = 54%, no mitigation deduction
        "decision_affects": "enforcement",
        "autonomy": "human_approves",
        "reversibility": "hard_to_reverse",
        "duration": "months",
        "vulnerability": "includes_vulnerable",
        "data_sensitivity": "personal",
        "scale": "medium",
        "explainability": "partly",
        "data_sources": "own_records",
        "mitigations": ["documented_human_review", "appeal_to_human"],
        **NO_PROHIBITED,
    },
    "IV": {  # raw 24 = 100%
        "decision_affects": "rights",
        "autonomy": "fully_automatic",
        "reversibility": "irreversible",
        "duration": "lasting",
        "vulnerability": "mainly_vulnerable",
        "data_sensitivity": "sensitive",
        "scale": "large",
        "explainability": "opaque",
        "data_sources": "open_internet",
        "mitigations": [],
        **NO_PROHIBITED,
    },
}
CLOCK_START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def example_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return data


def filing_data(**changes: Any) -> dict[str, Any]:
    """The example filing with top-level fields replaced (``grade="III"`` picks answers)."""
    data = copy.deepcopy(example_data())
    grade = changes.pop("grade", None)
    if grade is not None:
        data["impact_assessment"]["answers"] = copy.deepcopy(GRADE_ANSWERS[grade])
        if grade in ("III", "IV"):
            data["ethics_review"] = {"status": "approved", "reference": "ER-1"}
    data.update(changes)
    return data


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(CLOCK_START)


@pytest.fixture
def staff(db_session: Session) -> dict[str, str]:
    """Two administrators (four eyes), two guardians and a spare reviewer."""
    add_user(db_session, username="admin", roles=[Role.ADMINISTRATOR])
    add_user(db_session, username="admin2", roles=[Role.ADMINISTRATOR], by="admin")
    add_user(db_session, username="g.chen", roles=[Role.REVIEWER], by="admin")
    add_user(db_session, username="m.lopez", roles=[Role.REVIEWER], by="admin")
    add_user(db_session, username="r.wu", roles=[Role.REVIEWER], by="admin")
    add_user(db_session, username="f.ali", roles=[Role.FIELD_STAFF], by="admin")
    return {"admin": "admin", "approver": "admin2", "guardian": "g.chen", "backup": "m.lopez"}


WalkTo = Callable[..., FilingRead]


@pytest.fixture
def walk_to(db_session: Session, staff: dict[str, str], clock: FixedClock) -> WalkTo:
    """File a document and take it to ``status`` (draft ... active)."""

    def walk(status: str = "active", **changes: Any) -> FilingRead:
        document = parse_filing(filing_data(**changes))
        filing = file_agent(db_session, document=document, by="admin", clock=clock)
        agent_id, version = filing.agent_id, filing.version
        steps = [
            ("submitted", submit, "admin"),
            ("approved", approve, "admin2"),
            ("active", activate, "admin"),
        ]
        for target, step, by in steps:
            if filing.status.value == status:
                break
            filing = step(
                db_session, agent_id=agent_id, version=version, by=by,
                reason=f"to {target}", clock=clock,
            )  # fmt: skip
        return filing

    return walk

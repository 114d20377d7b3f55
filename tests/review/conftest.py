"""Helpers for review and autonomy tests: staff, a filed and active agent with a
guardian and a backup, cases with proposals that wait for a human, and queue items."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.control import ControlConfig, ProposalRead, govern
from cogov.control.autonomy import AutonomyPolicy, Thresholds
from cogov.control.service import open_workflow, record_config
from cogov.core.clock import FixedClock
from cogov.core.types import Role
from cogov.identity import add_user
from cogov.intake import CaseRead, submit
from cogov.ledger import LedgerEntry
from cogov.registry import activate, approve, file_agent, parse_filing
from cogov.registry import submit as submit_filing
from cogov.review import ReviewItemRead, ReviewPolicy, enqueue
from tests.control.conftest import CONTROL, INTAKE, make_agent, make_proposal
from tests.registry.conftest import filing_data

AGENT = "router-agent"  # the example filing's agent
GUARDIAN = "g.chen"
BACKUP = "m.lopez"
TEAM = "311 Citizen Service Centre"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
POLICY = ReviewPolicy(deadline_hours=4, claim_minutes=30, escalation_hours=8)


def kinds(session: Session, case_id: str) -> list[str]:
    query = select(LedgerEntry.kind).where(LedgerEntry.case_id == case_id).order_by(LedgerEntry.seq)
    return list(session.scalars(query))


def ledger(session: Session, kind: str) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.kind == kind).order_by(LedgerEntry.seq)
    return list(session.scalars(query))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def config() -> ControlConfig:
    return CONTROL


@pytest.fixture
def staff(db_session: Session) -> dict[str, str]:
    """Administrators, the agent's guardian and backup, and three other reviewers."""
    add_user(db_session, username="admin", roles=[Role.ADMINISTRATOR])
    add_user(db_session, username="admin2", roles=[Role.ADMINISTRATOR], by="admin")
    for name in (GUARDIAN, BACKUP, "r.wu", "s.kim", "t.osei"):
        add_user(db_session, username=name, roles=[Role.REVIEWER], by="admin")
    add_user(db_session, username="f.ali", roles=[Role.FIELD_STAFF], by="admin")
    return {"guardian": GUARDIAN, "backup": BACKUP}


def file_active_agent(
    session: Session, clock: FixedClock, *, grade: str = "I", **changes: Any
) -> str:
    document = parse_filing(filing_data(grade=grade, **changes))
    filing = file_agent(session, document=document, by="admin", clock=clock)
    for step, by in ((submit_filing, "admin"), (approve, "admin2"), (activate, "admin")):
        step(session, agent_id=filing.agent_id, by=by, reason="review tests", clock=clock)
    return filing.agent_id


@pytest.fixture
def agent(db_session: Session, staff: dict[str, str], clock: FixedClock) -> str:
    """An active grade-I agent (ceiling 3) guarded by g.chen, backup m.lopez."""
    return file_active_agent(db_session, clock)


@dataclass(frozen=True)
class Pending:
    case: CaseRead
    token: str
    proposal: ProposalRead


MakePending = Callable[..., Pending]


@pytest.fixture
def make_pending(db_session: Session, clock: FixedClock, agent: str) -> MakePending:
    """A new case whose agent's proposal waits for a human (the agent only suggests)."""
    config_hash = record_config(db_session, config=CONTROL, thresholds={AGENT: 0.8}, clock=clock)

    def make(
        action: str = "route",
        value: str = "Sanitation",
        confidence: float = 0.95,
        level: int = 0,
        group: dict[str, Any] | None = None,
    ) -> Pending:
        body: dict[str, Any] = {
            "service_code": "illegal_dumping",
            "description": "Mattress dumped on the kerb",
            "address_string": "12 Main St",
        }
        if group:
            body["group"] = group
        submission = submit(db_session, body, config=INTAKE, clock=clock)
        open_workflow(db_session, case=submission.case, config=CONTROL, clock=clock)
        governed = govern(
            db_session,
            case=submission.case,
            agent=make_agent(agent_id=agent, autonomy_level=level, guardian=GUARDIAN),
            proposals=[make_proposal(action, value, confidence)],
            config=CONTROL,
            config_hash=config_hash,
            clock=clock,
        )
        return Pending(submission.case, submission.citizen_token, governed.proposals[0])

    return make


Enqueue = Callable[..., ReviewItemRead]


@pytest.fixture
def tokens() -> dict[str, str]:
    """Citizen tokens of the cases ``queued`` made, by case id (intake shows them once)."""
    return {}


@pytest.fixture
def queued(
    db_session: Session, clock: FixedClock, make_pending: MakePending, tokens: dict[str, str]
) -> Enqueue:
    """Queue a fresh pending proposal for the guardian team."""

    def make(deadline: timedelta | None = None, team: str = TEAM, **pending: Any) -> ReviewItemRead:
        item = make_pending(**pending)
        tokens[item.case.id] = item.token
        return enqueue(
            db_session,
            case_id=item.case.id,
            proposal_id=item.proposal.id,
            agent_id=item.proposal.agent_id,
            team=team,
            guardian=GUARDIAN,
            backup_guardian=BACKUP,
            reason="autonomy: route needs level 2; the agent has 0",
            deadline=START + deadline if deadline is not None else None,
            policy=POLICY,
            clock=clock,
        )

    return make


def quiet_policy(**changes: Any) -> AutonomyPolicy:
    """An autonomy policy that judges small windows (tests make few decisions)."""
    values: dict[str, Any] = {
        "window_decisions": 50,
        "window_days": 30.0,
        "min_decisions": 5,
        "min_reviewed": 5,
        "max_override_rate": 0.3,
        "max_upheld_appeal_rate": 0.1,
        "max_negative_list_rate": 0.5,
        "max_group_gap": 0.5,
        "min_group_size": 3,
    }
    initial = changes.pop("initial_level", 3)
    values.update(changes)
    return AutonomyPolicy(initial_level=initial, thresholds=Thresholds(**values))

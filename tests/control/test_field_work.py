"""Control's use cases for the people who work routed cases: the work list by
department (work_list) and resolving with a note the citizen
reads (resolve_case)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from cogov.control import (
    Actor,
    ControlConfig,
    InvalidDecision,
    TransitionRefused,
    get_workflow,
    govern,
    resolve_case,
    transition,
    work_list,
)
from cogov.core.canonical import sha256_hex
from cogov.intake import CaseRead
from cogov.ledger.service import entries_for_case
from tests.control.conftest import make_agent, make_proposal


@pytest.fixture
def routed(
    db_session: Session, new_case: Callable[..., CaseRead], config: ControlConfig, config_hash: str
) -> Callable[[str], CaseRead]:
    """A case the agent routed to ``department`` within its limits (state: assigned)."""

    def make(department: str) -> CaseRead:
        case = new_case()
        govern(
            db_session,
            case=case,
            agent=make_agent(),
            proposals=[make_proposal("route", department)],
            config=config,
            config_hash=config_hash,
        )
        return case

    return make


class TestWorkList:
    def test_cases_waiting_for_a_department(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        routed: Callable[[str], CaseRead],
        config: ControlConfig,
    ) -> None:
        parks, roads, done = routed("Parks"), routed("Roads"), routed("Roads")
        new_case()  # received, not routed: nobody's work yet
        clerk = Actor.human("clerk")
        transition(db_session, case_id=roads.id, to_state="in_progress", actor=clerk, config=config)
        transition(db_session, case_id=done.id, to_state="resolved", actor=clerk, config=config)
        assert {w.case_id for w in work_list(db_session)} == {parks.id, roads.id}
        assert [w.case_id for w in work_list(db_session, department="Roads")] == [roads.id]
        assert work_list(db_session, department="Harbour") == []
        assert len(work_list(db_session, limit=1)) == 1


class TestResolveCase:
    def test_the_note_becomes_the_reply_and_the_ledger_keeps_its_hash(
        self, db_session: Session, routed: Callable[[str], CaseRead], config: ControlConfig
    ) -> None:
        case = routed("Parks")
        note = "  Cleared the fallen branch on Monday.  "
        flow = resolve_case(db_session, case_id=case.id, by="f.ali", note=note, config=config)
        assert (flow.state, flow.reply, flow.reply_ai_drafted) == (
            "resolved",
            note.strip(),
            False,
        )
        step = [e for e in entries_for_case(db_session, case.id) if e.kind == "case.transitioned"]
        assert step[-1].actor == "user:f.ali"
        assert step[-1].responsible["operator"] == "user:f.ali"
        assert step[-1].payload["to"] == "resolved"
        assert step[-1].payload["reply_sha256"] == sha256_hex(note.strip())
        assert step[-1].payload["reply_length"] == len(note.strip())
        assert "Cleared" not in str(step[-1].payload)

    def test_refusals_change_nothing(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        routed: Callable[[str], CaseRead],
        config: ControlConfig,
    ) -> None:
        case = routed("Parks")
        with pytest.raises(InvalidDecision, match="note: must be 1-4000 characters"):
            resolve_case(db_session, case_id=case.id, by="f.ali", note="  ", config=config)
        with pytest.raises(InvalidDecision, match=r"note: .* U\+0000 at position 5"):
            resolve_case(db_session, case_id=case.id, by="f.ali", note="done\x00", config=config)
        with pytest.raises(InvalidDecision, match="by: "):
            resolve_case(db_session, case_id=case.id, by=" ", note="done", config=config)
        fresh = new_case()
        with pytest.raises(TransitionRefused, match="no step from 'received' to 'resolved'"):
            resolve_case(db_session, case_id=fresh.id, by="f.ali", note="done", config=config)
        assert get_workflow(db_session, case_id=case.id).state == "assigned"
        assert get_workflow(db_session, case_id=fresh.id).reply is None

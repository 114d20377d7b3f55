"""A person (or agent) moving a case to merged by a plain step of its process, not
through a mark_duplicate proposal, leaves nothing waiting on it either: the same
proposal.cancelled entries as the proposal path, and the review layer closes the
cancelled proposals' items (review.cancelled)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.control import (
    Actor,
    ControlConfig,
    ProposalRead,
    ProposalState,
    govern,
    proposals_for_case,
    transition,
)
from cogov.intake import CaseRead
from cogov.ledger import LedgerEntry
from cogov.review import ItemState, cancel_items, enqueue, get_item
from tests.control.conftest import make_agent, make_proposal


def entries(session: Session, case_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    query = select(LedgerEntry).where(LedgerEntry.case_id == case_id).order_by(LedgerEntry.seq)
    return [(e.kind, e.actor, json.loads(e.payload)) for e in session.scalars(query)]


Waiting = tuple[CaseRead, tuple[ProposalRead, ...]]


@pytest.fixture
def waiting(
    db_session: Session,
    new_case: Callable[..., CaseRead],
    config: ControlConfig,
    config_hash: str,
) -> Waiting:
    """A case whose routing and category both wait for a human."""
    case = new_case()
    governed = govern(
        db_session,
        case=case,
        agent=make_agent(),
        proposals=[
            make_proposal("route", "DSNY", confidence=0.2),
            make_proposal("categorise", "dumping", confidence=0.2),
        ],
        config=config,
        config_hash=config_hash,
    )
    return case, governed.pending


class TestMergedByHand:
    def test_a_human_merge_cancels_what_waits_and_its_review_items(
        self, db_session: Session, waiting: Waiting, config: ControlConfig
    ) -> None:
        case, pending = waiting
        assert len(pending) == 2
        item = enqueue(
            db_session,
            case_id=case.id,
            proposal_id=pending[0].id,
            agent_id=pending[0].agent_id,
            team="311",
            guardian="g.chen",
            backup_guardian="m.lopez",
            reason="confidence below the threshold",
        )
        transition(
            db_session,
            case_id=case.id,
            to_state="merged",
            actor=Actor.human("r.li"),
            config=config,
            reason="same pothole as an open case",
        )
        stored = {p.id: p for p in proposals_for_case(db_session, case_id=case.id)}
        assert {stored[p.id].state for p in pending} == {ProposalState.CANCELLED}
        log = entries(db_session, case.id)
        cancelled = [
            (actor, payload) for kind, actor, payload in log if kind == "proposal.cancelled"
        ]
        assert sorted(payload["proposal_id"] for _, payload in cancelled) == sorted(
            p.id for p in pending
        )
        for actor, payload in cancelled:
            assert actor == "user:r.li"
            assert payload["by"] == "human"
            assert payload["merged_into"] is None
            assert payload["reason"] == "the case was merged"
        assert [kind for kind, _, _ in log[-3:]] == [
            "case.transitioned",
            "proposal.cancelled",
            "proposal.cancelled",
        ]
        closed = cancel_items(db_session, proposals=proposals_for_case(db_session, case_id=case.id))
        assert closed == [item.id]
        assert get_item(db_session, item_id=item.id).state == ItemState.CANCELLED.value
        assert entries(db_session, case.id)[-1][0] == "review.cancelled"

    def test_other_steps_cancel_nothing(
        self, db_session: Session, waiting: Waiting, config: ControlConfig
    ) -> None:
        case, pending = waiting
        transition(
            db_session,
            case_id=case.id,
            to_state="rejected",
            actor=Actor.human("r.li"),
            config=config,
            reason="not a city matter",
        )
        stored = proposals_for_case(db_session, case_id=case.id)
        assert sorted(p.id for p in stored) == sorted(p.id for p in pending)
        assert {p.state for p in stored} == {ProposalState.PENDING_REVIEW}
        assert "proposal.cancelled" not in [kind for kind, _, _ in entries(db_session, case.id)]

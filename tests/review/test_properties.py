"""Random sequences of queue steps (hypothesis): whatever reviewers and the clock do,
nothing is applied without a recorded human decision, a decision is made once, an
overdue item goes only to the backup guardian, and every step is in the ledger."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.control import ControlConfig, get_proposal
from cogov.core.clock import FixedClock
from cogov.core.errors import CogovError
from cogov.ledger import LedgerEntry
from cogov.review import claim, decide, escalate_overdue, get_item, release
from tests.review.conftest import BACKUP, GUARDIAN, POLICY, Enqueue

REVIEWERS = [GUARDIAN, BACKUP, "r.wu"]
step = st.one_of(
    st.tuples(st.just("claim"), st.integers(0, 2), st.sampled_from(REVIEWERS)),
    st.tuples(st.just("release"), st.integers(0, 2), st.sampled_from(REVIEWERS)),
    st.tuples(
        st.just("decide"),
        st.integers(0, 2),
        st.sampled_from(REVIEWERS),
        st.sampled_from(["approve", "edit", "reject"]),
        st.booleans(),  # with a reason code
    ),
    st.tuples(st.just("wait"), st.integers(1, 300)),  # minutes
    st.tuples(st.just("escalate")),
)


def review_entries(session: Session, item_id: str) -> list[tuple[str, dict[str, object]]]:
    rows = session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind.like("review.%")).order_by(LedgerEntry.seq)
    )
    found = [(row.kind, json.loads(row.payload)) for row in rows]
    return [(kind, payload) for kind, payload in found if payload.get("item_id") == item_id]


class TestQueueInvariants:
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(step, min_size=1, max_size=12))
    def test_any_sequence_of_steps_keeps_the_rules(
        self,
        db_session: Session,
        queued: Enqueue,
        config: ControlConfig,
        clock: FixedClock,
        steps: list[tuple[object, ...]],
    ) -> None:
        savepoint = db_session.begin_nested()
        try:
            items = [queued(deadline=timedelta(hours=2), value=f"Dept {n}") for n in range(3)]
            for action, *args in steps:
                try:
                    if action in ("claim", "release"):
                        item_id, who = items[args[0]].id, str(args[1])  # type: ignore[index]
                        if action == "claim":
                            claim(
                                db_session,
                                item_id=item_id,
                                reviewer=who,
                                policy=POLICY,
                                clock=clock,
                            )
                        else:
                            release(db_session, item_id=item_id, reviewer=who, clock=clock)
                    elif action == "decide":
                        index, reviewer, decision, with_code = args
                        decide(
                            db_session,
                            item_id=items[index].id,  # type: ignore[index]
                            reviewer=reviewer,  # type: ignore[arg-type]
                            decision=decision,  # type: ignore[arg-type]
                            reason_code="wrong_department" if with_code else None,
                            new_value="Parks" if decision == "edit" else None,
                            config=config,
                            policy=POLICY,
                            clock=clock,
                        )
                    elif action == "wait":
                        clock.advance(timedelta(minutes=args[0]))  # type: ignore[arg-type]
                    else:
                        escalate_overdue(db_session, policy=POLICY, clock=clock)
                except CogovError:
                    pass  # a refusal: the invariants below must hold all the same
                for item in items:
                    now = get_item(db_session, item_id=item.id)
                    proposal = get_proposal(db_session, proposal_id=item.proposal_id)
                    kinds = [kind for kind, _ in review_entries(db_session, item.id)]
                    if now.state == "decided":
                        # Applied (or refused) only by a recorded human decision, once.
                        assert proposal.state == "decided"
                        assert proposal.reviewer_id == now.decided_by
                        assert kinds.count("review.decided") == 1
                        assert now.decision != "rejected" or now.reason_code is not None
                    else:
                        assert proposal.state == "pending_review"
                        assert proposal.outcome is None
                        assert "review.decided" not in kinds
                    if now.escalated_to is not None:
                        assert now.escalated_to == BACKUP
                        assert kinds.count("review.escalated") == 1
                    if now.state == "claimed":
                        assert kinds[-1] == "review.claimed"
                    assert kinds[0] == "review.queued"
        finally:
            savepoint.rollback()

"""A reviewer merges a case into another it repeats where no agent proposed it:
the case ends 'merged' with ``duplicate_of``, what waited for a human on it is
cancelled and its review item closed, the ledger names the reviewer; every refusal
names its field and leaves nothing behind."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cogov.control import (
    ControlConfig,
    InvalidDecision,
    MergeRefused,
    ProposalState,
    TransitionRefused,
    get_proposal,
    get_workflow,
)
from cogov.core.clock import FixedClock
from cogov.identity import MissingRole
from cogov.ledger import LedgerEntry
from cogov.review import AlreadyClaimed, ItemState, claim, decide, get_item, merge_case
from tests.review.conftest import GUARDIAN, Enqueue, MakePending, kinds, ledger


def _entries(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(LedgerEntry)) or 0


class TestMerge:
    def test_the_repeat_is_merged_and_nothing_waits_on_it(
        self,
        db_session: Session,
        queued: Enqueue,
        make_pending: MakePending,
        config: ControlConfig,
        clock: FixedClock,
    ) -> None:
        item = queued()
        original = make_pending()
        merged = merge_case(
            db_session,
            case_id=item.case_id,
            into=original.case.id,
            reviewer="r.wu",
            reason="same mattress, reported twice",
            config=config,
            clock=clock,
        )
        assert (merged.state, merged.duplicate_of) == ("merged", original.case.id)
        assert get_workflow(db_session, case_id=item.case_id).duplicate_of == original.case.id
        proposal = get_proposal(db_session, proposal_id=item.proposal_id)
        assert proposal.state is ProposalState.CANCELLED
        assert get_item(db_session, item_id=item.id).state == ItemState.CANCELLED
        # The original is untouched: its own proposal still waits.
        assert get_workflow(db_session, case_id=original.case.id).state != "merged"
        assert kinds(db_session, item.case_id)[-3:] == [
            "case.transitioned",
            "proposal.cancelled",
            "review.cancelled",
        ]
        step = ledger(db_session, "case.transitioned")[-1]
        payload = json.loads(step.payload)
        assert step.actor == "user:r.wu"
        assert (payload["to"], payload["duplicate_of"]) == ("merged", original.case.id)
        assert payload["reason"] == "same mattress, reported twice"
        assert json.loads(step.responsible) == {"operator": "user:r.wu"}
        cancelled = json.loads(ledger(db_session, "proposal.cancelled")[-1].payload)
        assert cancelled["merged_into"] == original.case.id

    @pytest.mark.parametrize(
        ("into", "problem", "words"),
        [
            ("", "empty", "names the case"),
            ("SELF", "itself", "itself"),
            ("no-such-case", "unknown", "no case"),
        ],
    )
    def test_a_bad_target_is_refused_by_name(
        self,
        db_session: Session,
        queued: Enqueue,
        config: ControlConfig,
        clock: FixedClock,
        into: str,
        problem: str,
        words: str,
    ) -> None:
        item = queued()
        before = _entries(db_session)
        with pytest.raises(MergeRefused, match=words) as refused:
            merge_case(
                db_session,
                case_id=item.case_id,
                into=item.case_id if into == "SELF" else into,
                reviewer="r.wu",
                config=config,
                clock=clock,
            )
        assert (refused.value.field, refused.value.problem) == ("into", problem)
        assert _entries(db_session) == before
        assert get_workflow(db_session, case_id=item.case_id).state != "merged"
        assert get_item(db_session, item_id=item.id).state == ItemState.QUEUED

    def test_no_chain_is_made(
        self,
        db_session: Session,
        make_pending: MakePending,
        config: ControlConfig,
        clock: FixedClock,
    ) -> None:
        first, second, third = make_pending(), make_pending(), make_pending()
        merge_case(db_session, case_id=second.case.id, into=first.case.id, reviewer="r.wu",
                   config=config, clock=clock)  # fmt: skip
        with pytest.raises(MergeRefused, match="merge into that one") as refused:
            merge_case(db_session, case_id=third.case.id, into=second.case.id, reviewer="r.wu",
                       config=config, clock=clock)  # fmt: skip
        assert (refused.value.field, refused.value.problem) == ("into", "merged")
        assert refused.value.other == first.case.id
        # Nor is a case that has repeats merged away from under them: the other way round.
        with pytest.raises(MergeRefused, match="merge case") as refused:
            merge_case(db_session, case_id=first.case.id, into=third.case.id, reviewer="r.wu",
                       config=config, clock=clock)  # fmt: skip
        assert (refused.value.problem, refused.value.other) == ("has_repeats", second.case.id)
        assert get_workflow(db_session, case_id=first.case.id).state != "merged"
        # ... and a merged case is not merged again.
        with pytest.raises(TransitionRefused, match="already merged"):
            merge_case(db_session, case_id=second.case.id, into=third.case.id, reviewer="r.wu",
                       config=config, clock=clock)  # fmt: skip

    def test_only_a_reviewer_merges_and_the_reason_is_checked(
        self,
        db_session: Session,
        make_pending: MakePending,
        config: ControlConfig,
        clock: FixedClock,
    ) -> None:
        repeat, original = make_pending(), make_pending()
        before = _entries(db_session)
        with pytest.raises(MissingRole):
            merge_case(db_session, case_id=repeat.case.id, into=original.case.id,
                       reviewer="f.ali", config=config, clock=clock)  # fmt: skip
        with pytest.raises(InvalidDecision) as refused:
            merge_case(
                db_session,
                case_id=repeat.case.id,
                into=original.case.id,
                reviewer="r.wu",
                reason="bad\x00reason",
                config=config,
                clock=clock,
            )
        assert refused.value.field == "reason"
        assert _entries(db_session) == before


class TestClaims:
    def test_an_item_another_reviewer_holds_refuses_the_merge(
        self,
        db_session: Session,
        queued: Enqueue,
        make_pending: MakePending,
        config: ControlConfig,
        clock: FixedClock,
    ) -> None:
        item, original = queued(), make_pending()
        claim(db_session, item_id=item.id, reviewer=GUARDIAN, clock=clock)
        before = _entries(db_session)
        with pytest.raises(AlreadyClaimed):
            merge_case(db_session, case_id=item.case_id, into=original.case.id,
                       reviewer="r.wu", config=config, clock=clock)  # fmt: skip
        assert _entries(db_session) == before
        # The holder may.
        merge_case(db_session, case_id=item.case_id, into=original.case.id,
                   reviewer=GUARDIAN, config=config, clock=clock)  # fmt: skip
        assert get_item(db_session, item_id=item.id).state == ItemState.CANCELLED


class TestApprovedRepeatOfAMergedCase:
    def test_takes_effect_on_the_case_that_one_repeats(
        self,
        db_session: Session,
        queued: Enqueue,
        make_pending: MakePending,
        config: ControlConfig,
        clock: FixedClock,
    ) -> None:
        original, target = make_pending(), make_pending()
        item = queued(action="mark_duplicate", value=target.case.id)
        # While the agent's proposal waited, its target was merged into another case.
        merge_case(db_session, case_id=target.case.id, into=original.case.id, reviewer="r.wu",
                   config=config, clock=clock)  # fmt: skip
        decided = decide(
            db_session, item_id=item.id, reviewer=GUARDIAN, decision="approve",
            config=config, clock=clock,
        )  # fmt: skip
        assert decided.final_value == original.case.id
        workflow = get_workflow(db_session, case_id=item.case_id)
        assert (workflow.state, workflow.duplicate_of) == ("merged", original.case.id)
        applied = json.loads(ledger(db_session, "proposal.applied")[-1].payload)
        assert applied["value"] == original.case.id

    def test_an_edit_to_a_merged_case_is_refused_naming_the_one_to_use(
        self,
        db_session: Session,
        queued: Enqueue,
        make_pending: MakePending,
        config: ControlConfig,
        clock: FixedClock,
    ) -> None:
        original, target, other = make_pending(), make_pending(), make_pending()
        item = queued(action="mark_duplicate", value=other.case.id)
        merge_case(db_session, case_id=target.case.id, into=original.case.id, reviewer="r.wu",
                   config=config, clock=clock)  # fmt: skip
        with pytest.raises(InvalidDecision, match=f"merged into case {original.case.id}"):
            decide(
                db_session, item_id=item.id, reviewer=GUARDIAN, decision="edit",
                new_value=target.case.id, reason_code="duplicate", config=config, clock=clock,
            )  # fmt: skip
        assert get_item(db_session, item_id=item.id).state == ItemState.QUEUED

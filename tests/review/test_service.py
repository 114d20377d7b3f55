"""The review queue on SQLite and PostgreSQL: one class per use case, each refusal
with its message."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from cogov.control import ControlConfig, InvalidDecision, get_proposal, get_workflow
from cogov.core.clock import FixedClock
from cogov.identity import MissingRole, UserNotFound
from cogov.review import (
    AlreadyClaimed,
    AlreadyDecided,
    AlreadyQueued,
    InvalidReviewInput,
    NotAReviewer,
    NotClaimedByYou,
    NothingToClaim,
    add_team_member,
    claim,
    claim_next,
    decide,
    decisions_for_case,
    enqueue,
    escalate_overdue,
    get_item,
    list_queue,
    list_team_members,
    release,
    remove_team_member,
)
from tests.review.conftest import (
    BACKUP,
    GUARDIAN,
    POLICY,
    START,
    TEAM,
    Enqueue,
    MakePending,
    kinds,
    ledger,
)


def responsible(entry: object) -> dict[str, str]:
    return json.loads(entry.responsible)  # type: ignore[attr-defined,no-any-return]


class TestEnqueue:
    def test_queues_for_the_guardian_team_with_a_ledger_entry(
        self, db_session: Session, queued: Enqueue
    ) -> None:
        item = queued()
        assert (item.state, item.team, item.guardian, item.backup_guardian) == (
            "queued",
            TEAM,
            GUARDIAN,
            BACKUP,
        )
        assert item.deadline == "2026-11-02T13:00:00.000000Z"  # the policy's 4 hours
        (entry,) = [e for e in ledger(db_session, "review.queued") if e.case_id == item.case_id]
        payload = json.loads(entry.payload)
        assert payload["item_id"] == item.id
        assert payload["guardian"] == GUARDIAN
        assert responsible(entry)["guardian"] == f"user:{GUARDIAN}"
        assert responsible(entry)["developer"].startswith("router-agent@3 model:")

    def test_a_proposal_is_queued_once(self, db_session: Session, queued: Enqueue) -> None:
        item = queued()
        with pytest.raises(AlreadyQueued, match=rf"already in the review queue \(item {item.id}\)"):
            enqueue(
                db_session,
                case_id=item.case_id,
                proposal_id=item.proposal_id,
                agent_id=item.agent_id,
                team=TEAM,
                guardian=GUARDIAN,
                backup_guardian=BACKUP,
                reason="again",
            )

    def test_refuses_a_proposal_that_does_not_wait_for_a_human(
        self, db_session: Session, make_pending: MakePending
    ) -> None:
        applied = make_pending(level=3)  # within its limits: applied alone
        with pytest.raises(InvalidReviewInput, match=r"is applied, not waiting for a human"):
            enqueue(
                db_session,
                case_id=applied.case.id,
                proposal_id=applied.proposal.id,
                agent_id=applied.proposal.agent_id,
                team=TEAM,
                guardian=GUARDIAN,
                backup_guardian=BACKUP,
                reason="r",
            )

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"team": "  "}, "team: must be 1-120 characters"),
            # U+001C at an end: white space to str.strip(), refused before trimming.
            ({"team": "Parks\x1c"}, r"team: contains a control character U\+001C at position 6"),
            ({"backup_guardian": GUARDIAN}, "backup_guardian: must be another person"),
            ({"guardian": ""}, "guardian: must name a staff user"),
            ({"reason": " "}, "reason: is required"),
            ({"reason": "why\x00"}, r"reason: contains a control character U\+0000 at position 4"),
            ({"case_id": "other-case"}, "case_id: proposal .* is not about case other-case"),
            ({"agent_id": "someone"}, "agent_id: proposal .* was made by 'router-agent'"),
        ],
    )
    def test_refuses_bad_input_naming_the_field(
        self,
        db_session: Session,
        make_pending: MakePending,
        change: dict[str, str],
        message: str,
    ) -> None:
        pending = make_pending()
        values = {
            "case_id": pending.case.id,
            "proposal_id": pending.proposal.id,
            "agent_id": pending.proposal.agent_id,
            "team": TEAM,
            "guardian": GUARDIAN,
            "backup_guardian": BACKUP,
            "reason": "needs a human",
            **change,
        }
        with pytest.raises(InvalidReviewInput, match=message):
            enqueue(db_session, **values)  # type: ignore[arg-type]


class TestClaimNext:
    def test_most_urgent_first_and_never_the_same_item_twice(
        self, db_session: Session, queued: Enqueue, clock: FixedClock
    ) -> None:
        later = queued(deadline=timedelta(hours=6))
        sooner = queued(deadline=timedelta(hours=2))
        first = claim_next(db_session, reviewer=GUARDIAN, policy=POLICY, clock=clock)
        second = claim_next(db_session, reviewer=BACKUP, policy=POLICY, clock=clock)
        assert (first.id, second.id) == (sooner.id, later.id)
        assert first.claimed_by == GUARDIAN
        assert first.state == "claimed"
        assert first.claim_expires_at == "2026-11-02T09:30:00.000000Z"
        with pytest.raises(NothingToClaim, match=r"no open review item for 'r.wu'"):
            claim_next(db_session, reviewer="r.wu", policy=POLICY, clock=clock)

    def test_ledger_names_the_reviewer_and_the_guardian(
        self, db_session: Session, queued: Enqueue, clock: FixedClock
    ) -> None:
        item = queued()
        claim_next(db_session, reviewer=BACKUP, policy=POLICY, clock=clock)
        assert kinds(db_session, item.case_id)[-2:] == ["review.queued", "review.claimed"]
        entry = ledger(db_session, "review.claimed")[-1]
        assert entry.actor == f"user:{BACKUP}"
        assert responsible(entry)["operator"] == f"user:{BACKUP}"
        assert responsible(entry)["guardian"] == f"user:{GUARDIAN}"

    def test_team_members_work_the_team_queue_others_do_not(
        self, db_session: Session, queued: Enqueue, clock: FixedClock
    ) -> None:
        queued()
        with pytest.raises(NothingToClaim):
            claim_next(db_session, reviewer="r.wu", policy=POLICY, clock=clock)
        add_team_member(db_session, team=TEAM, username="r.wu", by="admin", clock=clock)
        with pytest.raises(NothingToClaim, match=r"in team 'other'"):
            claim_next(db_session, reviewer="r.wu", team="other", policy=POLICY, clock=clock)
        assert claim_next(db_session, reviewer="r.wu", team=TEAM, policy=POLICY, clock=clock)

    def test_an_abandoned_claim_lapses_and_another_reviewer_takes_it(
        self, db_session: Session, queued: Enqueue, clock: FixedClock
    ) -> None:
        item = queued()
        claim_next(db_session, reviewer=GUARDIAN, policy=POLICY, clock=clock)
        with pytest.raises(NothingToClaim):
            claim_next(db_session, reviewer=BACKUP, policy=POLICY, clock=clock)
        clock.advance(timedelta(minutes=31))
        taken = claim_next(db_session, reviewer=BACKUP, policy=POLICY, clock=clock)
        assert taken.id == item.id
        assert taken.claimed_by == BACKUP
        payload = json.loads(ledger(db_session, "review.claimed")[-1].payload)
        assert payload["lapsed_claim_of"] == GUARDIAN

    def test_only_reviewers_claim(self, db_session: Session, queued: Enqueue) -> None:
        queued()
        with pytest.raises(MissingRole, match=r"'f.ali' does not hold the reviewer role"):
            claim_next(db_session, reviewer="f.ali")


class TestClaim:
    def test_refuses_an_item_someone_else_holds(
        self, db_session: Session, queued: Enqueue, clock: FixedClock
    ) -> None:
        item = queued()
        claim(db_session, item_id=item.id, reviewer=GUARDIAN, policy=POLICY, clock=clock)
        with pytest.raises(
            AlreadyClaimed, match=rf"claimed by '{GUARDIAN}' until 2026-11-02T09:30"
        ):
            claim(db_session, item_id=item.id, reviewer=BACKUP, policy=POLICY, clock=clock)

    def test_refuses_a_reviewer_outside_the_team(
        self, db_session: Session, queued: Enqueue, clock: FixedClock
    ) -> None:
        item = queued()
        with pytest.raises(
            NotAReviewer, match=r"not a member of team '311 Citizen Service Centre'"
        ):
            claim(db_session, item_id=item.id, reviewer="s.kim", clock=clock)

    def test_release_gives_it_back_to_the_team(
        self, db_session: Session, queued: Enqueue, clock: FixedClock
    ) -> None:
        item = queued()
        claim(db_session, item_id=item.id, reviewer=GUARDIAN, policy=POLICY, clock=clock)
        with pytest.raises(NotClaimedByYou, match=rf"is not claimed by '{BACKUP}'"):
            release(db_session, item_id=item.id, reviewer=BACKUP, clock=clock)
        assert (
            release(db_session, item_id=item.id, reviewer=GUARDIAN, clock=clock).state == "queued"
        )
        assert kinds(db_session, item.case_id)[-1] == "review.released"
        assert claim_next(db_session, reviewer=BACKUP, policy=POLICY, clock=clock).id == item.id


class TestDecide:
    def test_approve_applies_the_proposal_and_is_final(
        self, db_session: Session, queued: Enqueue, config: ControlConfig, clock: FixedClock
    ) -> None:
        item = queued()
        done = decide(
            db_session,
            item_id=item.id,
            reviewer=GUARDIAN,
            decision="approve",
            config=config,
            policy=POLICY,
            clock=clock,
        )
        assert (done.state, done.decision, done.decided_by) == ("decided", "approved", GUARDIAN)
        assert get_workflow(db_session, case_id=item.case_id).department == "Sanitation"
        proposal = get_proposal(db_session, proposal_id=item.proposal_id)
        assert (proposal.outcome, proposal.reviewer_id) == ("approved", GUARDIAN)
        # Claimed in the same step, then decided, each in the ledger with who answers.
        trail = kinds(db_session, item.case_id)
        assert trail.index("review.claimed") < trail.index("review.decided")
        entry = ledger(db_session, "review.decided")[-1]
        assert responsible(entry)["operator"] == f"user:{GUARDIAN}"
        assert responsible(entry)["guardian"] == f"user:{GUARDIAN}"
        assert json.loads(entry.payload)["decision"] == "approved"
        with pytest.raises(
            AlreadyDecided, match=r"already approved by 'g.chen' .* only through an appeal"
        ):
            decide(
                db_session,
                item_id=item.id,
                reviewer=BACKUP,
                decision="reject",
                reason_code="wrong_department",
                config=config,
            )

    def test_edit_applies_the_reviewers_value_and_keeps_their_words(
        self, db_session: Session, queued: Enqueue, config: ControlConfig, clock: FixedClock
    ) -> None:
        item = queued()
        done = decide(
            db_session,
            item_id=item.id,
            reviewer=BACKUP,
            decision="edit",
            new_value="Parks",
            reason_code="local_knowledge",
            note="That kerb belongs to the park, not the street.",
            config=config,
            policy=POLICY,
            clock=clock,
        )
        assert (done.decision, done.final_value, done.reason_label) == (
            "edited",
            "Parks",
            "Local knowledge the agent lacks",
        )
        assert get_workflow(db_session, case_id=item.case_id).department == "Parks"
        shown = decisions_for_case(db_session, case_id=item.case_id)
        assert [d.note for d in shown] == ["That kerb belongs to the park, not the street."]
        assert shown[0].reason_label_zh == "智能体不掌握的本地情况"
        payload = json.loads(ledger(db_session, "review.decided")[-1].payload)
        assert "note" not in payload
        assert payload["note_sha256"]

    def test_reject_applies_nothing(
        self, db_session: Session, queued: Enqueue, config: ControlConfig, clock: FixedClock
    ) -> None:
        item = queued()
        decide(
            db_session,
            item_id=item.id,
            reviewer=GUARDIAN,
            decision="reject",
            reason_code="wrong_department",
            config=config,
            policy=POLICY,
            clock=clock,
        )
        assert get_workflow(db_session, case_id=item.case_id).department is None
        assert get_proposal(db_session, proposal_id=item.proposal_id).outcome == "rejected"

    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"decision": "reject"}, "reason_code: a reason is required to reject"),
            (
                {"decision": "edit", "new_value": "Parks"},
                "reason_code: a reason is required to edit",
            ),
            (
                {"decision": "edit", "reason_code": "wrong_department"},
                "new_value: an edit needs the value the reviewer chose",
            ),
            (
                {"decision": "edit", "reason_code": "wrong_department", "new_value": "Sanitation"},
                "new_value: is the value proposed; approve it instead",
            ),
            ({"decision": "reject", "reason_code": "nope"}, "reason_code: 'nope' is not a known"),
            (
                {"decision": "reject", "reason_code": "other"},
                "note: reason 'other' needs a few words saying why",
            ),
            (
                {"decision": "approve", "reason_code": "wrong_department"},
                "reason_code: 'wrong_department' explains only: edit, reject",
            ),
            ({"decision": "maybe"}, "decision: 'maybe' is not one of approve, edit, reject"),
            (
                {"decision": "approve", "new_value": "Parks"},
                "new_value: only an edit takes a new value",
            ),
            (
                {"decision": "approve", "note": "fine\x07"},
                "note: contains a control character U\\+0007 at position 5",
            ),
            (
                {"decision": "reject", "reason_code": "other", "note": "\x1b[2Jhidden"},
                "note: contains a control character U\\+001B at position 1",
            ),
            (
                {"decision": "edit", "reason_code": "wrong_department", "new_value": "Par\x9bks"},
                "new_value: contains a control character U\\+009B at position 4",
            ),
        ],
    )
    def test_refuses_a_decision_without_what_it_needs(
        self,
        db_session: Session,
        queued: Enqueue,
        config: ControlConfig,
        values: dict[str, str],
        message: str,
    ) -> None:
        item = queued()
        with pytest.raises(InvalidReviewInput, match=message):
            decide(db_session, item_id=item.id, reviewer=GUARDIAN, config=config, **values)  # type: ignore[arg-type]
        assert get_item(db_session, item_id=item.id).state == "queued"

    def test_refuses_an_item_another_reviewer_holds(
        self, db_session: Session, queued: Enqueue, config: ControlConfig, clock: FixedClock
    ) -> None:
        item = queued()
        claim(db_session, item_id=item.id, reviewer=BACKUP, policy=POLICY, clock=clock)
        with pytest.raises(AlreadyClaimed, match=rf"claimed by '{BACKUP}'"):
            decide(
                db_session,
                item_id=item.id,
                reviewer=GUARDIAN,
                decision="approve",
                config=config,
                clock=clock,
            )

    def test_a_refusal_from_control_leaves_nothing_half_written(
        self, db_session: Session, queued: Enqueue, config: ControlConfig, clock: FixedClock
    ) -> None:
        item = queued(action="prioritise", value="high")
        before = kinds(db_session, item.case_id)
        with pytest.raises(InvalidDecision, match=r"priority 'whenever' is not one of low"):
            decide(
                db_session,
                item_id=item.id,
                reviewer=GUARDIAN,
                decision="edit",
                new_value="whenever",  # not a priority control accepts
                reason_code="wrong_priority",
                config=config,
                policy=POLICY,
                clock=clock,
            )
        after = get_item(db_session, item_id=item.id)
        assert (after.state, after.claimed_by, after.decision) == ("queued", None, None)
        assert kinds(db_session, item.case_id) == before


class TestEscalateOverdue:
    def test_an_unclaimed_item_past_its_deadline_goes_to_the_backup_never_applied(
        self, db_session: Session, queued: Enqueue, clock: FixedClock
    ) -> None:
        item = queued(deadline=timedelta(hours=1))
        assert escalate_overdue(db_session, policy=POLICY, clock=clock) == []
        clock.advance(timedelta(hours=1))
        (escalated,) = escalate_overdue(db_session, policy=POLICY, clock=clock)
        assert (escalated.id, escalated.escalated_to, escalated.state) == (
            item.id,
            BACKUP,
            "queued",
        )
        assert escalated.deadline == "2026-11-02T18:00:00.000000Z"  # 8 hours for the backup
        assert get_proposal(db_session, proposal_id=item.proposal_id).state == "pending_review"
        assert get_workflow(db_session, case_id=item.case_id).department is None
        entry = ledger(db_session, "review.escalated")[-1]
        payload = json.loads(entry.payload)
        assert (payload["to"], payload["was"], payload["applied"]) == (BACKUP, "unclaimed", False)
        assert payload["backup_active"] is True
        assert responsible(entry)["guardian"] == f"user:{GUARDIAN}"
        assert responsible(entry)["reviewer"] == f"user:{BACKUP}"
        # Escalated once: a second run leaves it alone.
        clock.advance(timedelta(hours=10))
        assert escalate_overdue(db_session, policy=POLICY, clock=clock) == []

    def test_only_the_backup_works_an_escalated_item(
        self, db_session: Session, queued: Enqueue, clock: FixedClock
    ) -> None:
        item = queued(deadline=timedelta(minutes=5))
        clock.advance(timedelta(minutes=5))
        escalate_overdue(db_session, policy=POLICY, clock=clock)
        with pytest.raises(NotAReviewer, match=rf"escalated to the backup guardian '{BACKUP}'"):
            claim(db_session, item_id=item.id, reviewer=GUARDIAN, clock=clock)
        assert claim_next(db_session, reviewer=BACKUP, policy=POLICY, clock=clock).id == item.id

    def test_a_live_claim_is_left_alone_an_abandoned_one_is_escalated(
        self, db_session: Session, queued: Enqueue, clock: FixedClock
    ) -> None:
        item = queued(deadline=timedelta(minutes=10))
        claim(db_session, item_id=item.id, reviewer="g.chen", policy=POLICY, clock=clock)
        clock.advance(timedelta(minutes=20))  # past the deadline, claim still live
        assert escalate_overdue(db_session, policy=POLICY, clock=clock) == []
        clock.advance(timedelta(minutes=15))  # the claim lapsed: abandoned
        (escalated,) = escalate_overdue(db_session, policy=POLICY, clock=clock)
        assert escalated.claimed_by is None
        assert escalated.escalated_to == BACKUP
        payload = json.loads(ledger(db_session, "review.escalated")[-1].payload)
        assert (payload["was"], payload["abandoned_by"]) == ("abandoned", GUARDIAN)


class TestTeams:
    def test_administrators_manage_team_membership(
        self, db_session: Session, staff: dict[str, str], clock: FixedClock
    ) -> None:
        member = add_team_member(db_session, team=TEAM, username="s.kim", by="admin", clock=clock)
        assert (member.team, member.username, member.added_by) == (TEAM, "s.kim", "admin")
        assert [m.username for m in list_team_members(db_session, team=TEAM)] == ["s.kim"]
        with pytest.raises(InvalidReviewInput, match=r"'s.kim' is already in team"):
            add_team_member(db_session, team=TEAM, username="s.kim", by="admin")
        with pytest.raises(MissingRole, match=r"'r.wu' does not hold the administrator role"):
            add_team_member(db_session, team=TEAM, username="t.osei", by="r.wu")
        with pytest.raises(MissingRole, match=r"'f.ali' does not hold the reviewer role"):
            add_team_member(db_session, team=TEAM, username="f.ali", by="admin")
        with pytest.raises(
            InvalidReviewInput, match=r"team: contains a control character U\+0085 at position 1"
        ):
            add_team_member(db_session, team="\x85Parks", username="s.kim", by="admin")
        remove_team_member(db_session, team=TEAM, username="s.kim", by="admin", clock=clock)
        assert list_team_members(db_session, team=TEAM) == []
        with pytest.raises(InvalidReviewInput, match=r"'s.kim' is not in team"):
            remove_team_member(db_session, team=TEAM, username="s.kim", by="admin")
        assert [e.kind for e in ledger(db_session, "review.team_joined")] == ["review.team_joined"]


class TestListQueue:
    def test_a_reviewer_sees_what_they_may_work(
        self, db_session: Session, queued: Enqueue, clock: FixedClock
    ) -> None:
        mine = queued(deadline=timedelta(hours=1))
        other = queued(team="Parks team")
        assert [i.id for i in list_queue(db_session, reviewer="r.wu")] == []
        add_team_member(db_session, team="Parks team", username="r.wu", by="admin", clock=clock)
        assert [i.id for i in list_queue(db_session, reviewer="r.wu")] == [other.id]
        assert {i.id for i in list_queue(db_session, reviewer=GUARDIAN)} == {mine.id, other.id}
        assert list_queue(db_session, reviewer=GUARDIAN)[0].overdue("2026-11-02T10:00:00.000000Z")
        assert START  # the queue's times are the fixed clock's

    def test_a_user_without_the_reviewer_role_is_refused_as_claiming_is(
        self, db_session: Session, queued: Enqueue
    ) -> None:
        queued()
        # Not an empty queue: the same refusal as claim's, so a caller cannot mistake
        # "may not review" for "nothing to review".
        with pytest.raises(MissingRole, match=r"'f.ali' does not hold the reviewer role"):
            claim_next(db_session, reviewer="f.ali")
        with pytest.raises(MissingRole, match=r"'f.ali' does not hold the reviewer role"):
            list_queue(db_session, reviewer="f.ali")
        with pytest.raises(UserNotFound):
            list_queue(db_session, reviewer="ghost")

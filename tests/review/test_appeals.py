"""Appeals on SQLite and PostgreSQL: a citizen appeals with their case's token; a
human who took no part in the decision upholds or dismisses it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from cogov.control import (
    Actor,
    ControlConfig,
    ProposalState,
    get_proposal,
    get_workflow,
    govern,
    transition,
)
from cogov.control.service import open_workflow, record_config
from cogov.core.clock import FixedClock
from cogov.db import batches
from cogov.identity import MissingRole
from cogov.intake import CaseNotFound, submit
from cogov.review import (
    AppealAlreadyDecided,
    ConflictOfInterest,
    InvalidReviewInput,
    NotAppealable,
    ReviewItemRead,
    appeals_for_token,
    claim,
    decide,
    decide_appeal,
    enqueue,
    file_appeal,
    list_appeals,
    release,
)
from tests.control.conftest import INTAKE, make_agent, make_proposal
from tests.review.conftest import (
    AGENT,
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

MERGED_BODY = {
    "service_code": "illegal_dumping",
    "description": "The same mattress, reported again",
    "address_string": "12 Main St",
}


@pytest.fixture
def decided(
    db_session: Session,
    queued: Enqueue,
    config: ControlConfig,
    clock: FixedClock,
    tokens: dict[str, str],
) -> tuple[ReviewItemRead, str]:
    """A routing the backup claimed and gave back, then the guardian approved; and the
    citizen's token for that case."""
    item = queued()
    claim(db_session, item_id=item.id, reviewer=BACKUP, policy=POLICY, clock=clock)
    release(db_session, item_id=item.id, reviewer=BACKUP, clock=clock)
    decide(
        db_session,
        item_id=item.id,
        reviewer=GUARDIAN,
        decision="approve",
        config=config,
        policy=POLICY,
        clock=clock,
    )
    return item, tokens[item.case_id]


def resolve(session: Session, case_id: str, config: ControlConfig) -> None:
    for state in ("in_progress", "resolved"):
        transition(
            session, case_id=case_id, to_state=state, actor=Actor.human("t.osei"), config=config
        )


class TestFileAppeal:
    def test_a_citizen_appeals_a_human_decision_with_their_token(
        self,
        db_session: Session,
        decided: tuple[ReviewItemRead, str],
        config: ControlConfig,
        clock: FixedClock,
    ) -> None:
        item, token = decided
        appeal = file_appeal(
            db_session,
            token=token,
            proposal_id=item.proposal_id,
            grounds="My street is not the sanitation department's; call me on 555-0100.",
            config=config,
            clock=clock,
        )
        assert (appeal.state, appeal.case_id, appeal.review_item_id) == (
            "filed",
            item.case_id,
            item.id,
        )
        assert appeal.excluded == {
            GUARDIAN: "decided it",
            BACKUP: "claimed it for review",
        }
        entry = ledger(db_session, "appeal.filed")[-1]
        payload = json.loads(entry.payload)
        assert entry.actor == f"citizen:{item.case_id}"
        assert "grounds" not in payload
        assert "555-0100" not in entry.payload
        assert payload["decided_by"] == "human"
        assert payload["grounds_sha256"]
        assert [a.id for a in appeals_for_token(db_session, token=token)] == [appeal.id]

    def test_a_decision_the_agent_took_alone_can_be_appealed(
        self, db_session: Session, make_pending: MakePending, config: ControlConfig
    ) -> None:
        applied = make_pending(level=3)
        appeal = file_appeal(
            db_session,
            token=applied.token,
            proposal_id=applied.proposal.id,
            grounds="Wrong department.",
            config=config,
        )
        # Nobody reviewed it: the agent's guardians answer for it, so they may not hear it.
        assert appeal.excluded == {
            GUARDIAN: "guardian of the agent",
            BACKUP: "backup guardian of the agent",
        }
        assert json.loads(ledger(db_session, "appeal.filed")[-1].payload)["decided_by"] == "agent"

    def test_staff_filing_for_the_citizen_may_not_decide_it(
        self, db_session: Session, make_pending: MakePending, config: ControlConfig
    ) -> None:
        applied = make_pending(level=3)
        appeal = file_appeal(
            db_session,
            token=applied.token,
            proposal_id=applied.proposal.id,
            grounds="Said on the phone: wrong department.",
            entered_by="t.osei",
            config=config,
        )
        assert appeal.excluded["t.osei"] == "filed the appeal for the citizen"
        assert ledger(db_session, "appeal.filed")[-1].actor == "user:t.osei"
        with pytest.raises(ConflictOfInterest, match=r"\(filed the appeal for the citizen\)"):
            decide_appeal(
                db_session,
                appeal_id=appeal.id,
                by="t.osei",
                outcome="upheld",
                reason="x",
                config=config,
            )

    def test_an_appeal_moves_a_resolved_case_to_appealed(
        self,
        db_session: Session,
        decided: tuple[ReviewItemRead, str],
        config: ControlConfig,
    ) -> None:
        item, token = decided
        resolve(db_session, item.case_id, config)
        file_appeal(
            db_session, token=token, proposal_id=item.proposal_id, grounds="No.", config=config
        )
        assert get_workflow(db_session, case_id=item.case_id).state == "appealed"
        assert kinds(db_session, item.case_id)[-2:] == ["case.transitioned", "appeal.filed"]

    def test_refusals(
        self,
        db_session: Session,
        decided: tuple[ReviewItemRead, str],
        make_pending: MakePending,
        config: ControlConfig,
    ) -> None:
        item, token = decided
        with pytest.raises(CaseNotFound, match=r"request not found for this token"):
            file_appeal(
                db_session, token="wrong", proposal_id=item.proposal_id, grounds="x", config=config
            )
        other = make_pending(level=3)
        with pytest.raises(NotAppealable, match=r"there is no such decision on this case"):
            file_appeal(
                db_session, token=token, proposal_id=other.proposal.id, grounds="x", config=config
            )
        pending = make_pending()
        with pytest.raises(NotAppealable, match=r"it is not decided yet"):
            file_appeal(
                db_session,
                token=pending.token,
                proposal_id=pending.proposal.id,
                grounds="x",
                config=config,
            )
        with pytest.raises(InvalidReviewInput, match=r"grounds: is required"):
            file_appeal(
                db_session, token=token, proposal_id=item.proposal_id, grounds=" ", config=config
            )
        with pytest.raises(InvalidReviewInput, match=r"grounds: .* U\+0008 at position 6"):
            file_appeal(
                db_session, token=token, proposal_id=item.proposal_id, grounds="wrong\x08",
                config=config,
            )  # fmt: skip
        file_appeal(
            db_session, token=token, proposal_id=item.proposal_id, grounds="x", config=config
        )
        with pytest.raises(NotAppealable, match=r"it is already appealed"):
            file_appeal(
                db_session, token=token, proposal_id=item.proposal_id, grounds="y", config=config
            )


class TestDecideAppeal:
    @pytest.fixture
    def appeal_id(
        self, db_session: Session, decided: tuple[ReviewItemRead, str], config: ControlConfig
    ) -> str:
        item, token = decided
        resolve(db_session, item.case_id, config)
        return file_appeal(
            db_session, token=token, proposal_id=item.proposal_id, grounds="No.", config=config
        ).id

    @pytest.mark.parametrize(
        ("who", "part"),
        [(GUARDIAN, "decided it"), (BACKUP, "claimed it for review")],
    )
    def test_nobody_who_took_part_may_decide_it(
        self, db_session: Session, appeal_id: str, config: ControlConfig, who: str, part: str
    ) -> None:
        with pytest.raises(
            ConflictOfInterest,
            match=rf"'{who}' may not decide appeal .*: they took part in the original decision "
            rf"\({part}\)",
        ):
            decide_appeal(
                db_session,
                appeal_id=appeal_id,
                by=who,
                outcome="dismissed",
                reason="fine",
                config=config,
            )
        assert [a.id for a in list_appeals(db_session, eligible=who)] == []
        assert [a.id for a in list_appeals(db_session, eligible="r.wu")] == [appeal_id]

    def test_upheld_marks_the_decision_wrong_and_reopens_the_case(
        self, db_session: Session, appeal_id: str, config: ControlConfig, clock: FixedClock
    ) -> None:
        result = decide_appeal(
            db_session,
            appeal_id=appeal_id,
            by="r.wu",
            outcome="upheld",
            reason="The kerb is park land; sanitation cannot act there.",
            config=config,
            clock=clock,
        )
        assert (result.outcome, result.decided_by, result.original_decision_wrong) == (
            "upheld",
            "r.wu",
            True,
        )
        assert get_workflow(db_session, case_id=result.case_id).state == "reopened"
        entry = ledger(db_session, "appeal.decided")[-1]
        payload = json.loads(entry.payload)
        assert (payload["outcome"], payload["original_decision_wrong"]) == ("upheld", True)
        assert payload["case_state"] == "reopened"
        assert json.loads(entry.responsible)["operator"] == "user:r.wu"
        assert json.loads(entry.responsible)["guardian"] == f"user:{GUARDIAN}"
        with pytest.raises(AppealAlreadyDecided, match=r"was already upheld by 'r.wu'"):
            decide_appeal(
                db_session,
                appeal_id=appeal_id,
                by="s.kim",
                outcome="dismissed",
                reason="x",
                config=config,
            )

    def test_dismissed_closes_the_appealed_case_again(
        self, db_session: Session, appeal_id: str, config: ControlConfig
    ) -> None:
        result = decide_appeal(
            db_session,
            appeal_id=appeal_id,
            by="s.kim",
            outcome="dismissed",
            reason="Routing was right.",
            config=config,
        )
        assert not result.original_decision_wrong
        assert get_workflow(db_session, case_id=result.case_id).state == "closed"

    def test_refuses_bad_input_and_non_reviewers(
        self, db_session: Session, appeal_id: str, config: ControlConfig
    ) -> None:
        with pytest.raises(InvalidReviewInput, match=r"outcome: 'maybe' is not one of upheld"):
            decide_appeal(
                db_session,
                appeal_id=appeal_id,
                by="r.wu",
                outcome="maybe",
                reason="x",
                config=config,
            )
        with pytest.raises(InvalidReviewInput, match=r"reason: is required"):
            decide_appeal(
                db_session,
                appeal_id=appeal_id,
                by="r.wu",
                outcome="upheld",
                reason="",
                config=config,
            )
        with pytest.raises(InvalidReviewInput, match=r"reason: .* U\+0090 at position 1"):
            decide_appeal(
                db_session, appeal_id=appeal_id, by="r.wu", outcome="upheld", reason="\x90ok",
                config=config,
            )  # fmt: skip
        with pytest.raises(MissingRole, match=r"'f.ali' does not hold the reviewer role"):
            decide_appeal(
                db_session,
                appeal_id=appeal_id,
                by="f.ali",
                outcome="upheld",
                reason="x",
                config=config,
            )


class TestCancelledDecision:
    """A proposal cancelled because its case was merged was never applied and never
    decided: there is nothing to appeal in it (the merge itself is appealable)."""

    def test_a_cancelled_proposal_cannot_be_appealed(
        self,
        db_session: Session,
        make_pending: MakePending,
        agent: str,
        config: ControlConfig,
        clock: FixedClock,
    ) -> None:
        target = make_pending().case
        submission = submit(db_session, MERGED_BODY, config=INTAKE, clock=clock)
        open_workflow(db_session, case=submission.case, config=config, clock=clock)
        governed = govern(
            db_session,
            case=submission.case,
            agent=make_agent(agent_id=agent, autonomy_level=0, guardian=GUARDIAN),
            proposals=[make_proposal(), make_proposal("mark_duplicate", target.id)],
            config=config,
            config_hash=record_config(
                db_session, config=config, thresholds={AGENT: 0.8}, clock=clock
            ),
            clock=clock,
        )
        route, merge = governed.proposals
        items = {
            proposal.id: enqueue(
                db_session,
                case_id=submission.case.id,
                proposal_id=proposal.id,
                agent_id=agent,
                team=TEAM,
                guardian=GUARDIAN,
                backup_guardian=BACKUP,
                reason="autonomy: the agent only suggests",
                policy=POLICY,
                clock=clock,
            )
            for proposal in (route, merge)
        }
        decide(
            db_session,
            item_id=items[merge.id].id,
            reviewer=GUARDIAN,
            decision="approve",
            config=config,
            policy=POLICY,
            clock=clock,
        )
        assert get_proposal(db_session, proposal_id=route.id).state is ProposalState.CANCELLED
        token = submission.citizen_token
        with pytest.raises(NotAppealable) as caught:
            file_appeal(db_session, token=token, proposal_id=route.id, grounds="x", config=config)
        assert caught.value.proposal_id == route.id
        assert caught.value.reason == (
            "it was cancelled when its case was merged and never took effect; "
            "appeal the merge decision instead"
        )
        assert list_appeals(db_session, states=None, case_id=submission.case.id) == []
        assert "appeal.filed" not in kinds(db_session, submission.case.id)
        # The merge the reviewer approved is a decision, and the citizen may appeal it.
        appeal = file_appeal(
            db_session, token=token, proposal_id=merge.id, grounds="Not a repeat", config=config
        )
        filed = json.loads(ledger(db_session, "appeal.filed")[-1].payload)
        assert (filed["appeal_id"], filed["decided_by"]) == (appeal.id, "human")


class TestListAppealsForCases:
    def test_several_cases_at_once_in_batches_of_ids(
        self,
        db_session: Session,
        make_pending: MakePending,
        config: ControlConfig,
        clock: FixedClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The batch form answers what asking case by case answers, in filing order
        across batches, and ``limit`` counts appeals over every batch."""
        cases, filed = [], []
        for minute in range(3):
            clock.set(START + timedelta(minutes=minute))
            applied = make_pending(level=3)
            cases.append(applied.case.id)
            filed.append(
                file_appeal(
                    db_session,
                    token=applied.token,
                    proposal_id=applied.proposal.id,
                    grounds="Wrong department.",
                    config=config,
                    clock=clock,
                ).id
            )
        unappealed = make_pending(level=3).case.id
        # One id per query: the answer must not depend on how the ids were split.
        monkeypatch.setattr(batches, "ID_BATCH", 1)
        asked = [cases[2], unappealed, cases[0], cases[1]]
        found = list_appeals(db_session, states=None, case_ids=asked, limit=None)
        assert [a.id for a in found] == filed
        one_by_one = [
            appeal.id
            for case_id in cases
            for appeal in list_appeals(db_session, states=None, case_id=case_id)
        ]
        assert one_by_one == filed
        assert [a.id for a in list_appeals(db_session, case_ids=asked, limit=2)] == filed[:2]
        assert list_appeals(db_session, case_ids=[unappealed]) == []
        assert list_appeals(db_session, case_ids=[]) == []

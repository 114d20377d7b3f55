"""Dynamic autonomy on SQLite and PostgreSQL: the level routing reads, the controller
lowering it at once on bad numbers (with the numbers in the ledger), and raises
signed off by the guardian only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from cogov.control import ControlConfig
from cogov.control.autonomy import (
    InvalidAutonomyInput,
    LowerRefused,
    NotTheGuardian,
    RaiseRefused,
    current_level,
    evaluate,
    get_autonomy,
    lower_level,
    raise_level,
)
from cogov.core.clock import FixedClock
from cogov.registry import AgentNotFound, file_agent, parse_filing
from cogov.review import decide, decide_appeal, file_appeal
from tests.registry.conftest import filing_data
from tests.review.conftest import (
    BACKUP,
    GUARDIAN,
    POLICY,
    Enqueue,
    MakePending,
    file_active_agent,
    ledger,
    quiet_policy,
)

QUIET = quiet_policy(initial_level=1)


def raise_to(session: Session, agent: str, level: int, clock: FixedClock) -> None:
    raise_level(
        session,
        agent_id=agent,
        to_level=level,
        by=GUARDIAN,
        reason="sandbox report and a month of clean reviews",
        policy=QUIET,
        clock=clock,
    )


class TestCurrentLevel:
    def test_an_agent_never_set_holds_the_initial_level(
        self, db_session: Session, agent: str
    ) -> None:
        assert current_level(db_session, agent) == 1  # the setting's initial level

    def test_an_agent_with_no_active_version_may_not_act_alone(
        self, db_session: Session, staff: dict[str, str], clock: FixedClock
    ) -> None:
        document = parse_filing(filing_data(grade="I"))
        file_agent(db_session, document=document, by="admin", clock=clock)  # a draft only
        assert current_level(db_session, document.agent_id) == 0

    def test_an_unknown_agent_may_not_act_alone(self, db_session: Session) -> None:
        assert current_level(db_session, "nobody") == 0

    def test_the_grade_caps_a_raised_level(
        self, db_session: Session, agent: str, clock: FixedClock
    ) -> None:
        raise_to(db_session, agent, 3, clock)
        assert current_level(db_session, agent) == 3
        assert current_level(db_session, agent, ceiling=2) == 2


class TestRaiseLevel:
    def test_the_guardian_signs_off_a_raise_with_a_ledger_entry(
        self, db_session: Session, agent: str, clock: FixedClock
    ) -> None:
        raise_to(db_session, agent, 3, clock)
        shown = get_autonomy(db_session, agent_id=agent, policy=QUIET)
        assert (shown.level, shown.ceiling, shown.effective) == (3, 3, 3)
        assert shown.changed_by == f"user:{GUARDIAN}"
        assert [(c.from_level, c.to_level, c.direction) for c in shown.history] == [
            (1, 3, "raised")
        ]
        entry = ledger(db_session, "autonomy.changed")[-1]
        payload = json.loads(entry.payload)
        assert (payload["from_level"], payload["to_level"], payload["direction"]) == (
            1,
            3,
            "raised",
        )
        assert json.loads(entry.responsible)["guardian"] == f"user:{GUARDIAN}"
        assert entry.actor == f"user:{GUARDIAN}"

    @pytest.mark.parametrize("who", [BACKUP, "r.wu", "admin"])
    def test_nobody_but_the_guardian_may_raise(
        self, db_session: Session, agent: str, who: str
    ) -> None:
        with pytest.raises(
            NotTheGuardian, match=rf"'{who}' may not raise .* only its guardian 'g.chen'"
        ):
            raise_level(db_session, agent_id=agent, to_level=2, by=who, reason="x", policy=QUIET)
        assert current_level(db_session, agent, ceiling=3) == 1

    def test_never_above_the_grades_ceiling(
        self, db_session: Session, staff: dict[str, str], clock: FixedClock
    ) -> None:
        agent = file_active_agent(db_session, clock, grade="II")
        with pytest.raises(RaiseRefused, match=r"to 3: is above the grade's ceiling 2"):
            raise_level(
                db_session, agent_id=agent, to_level=3, by=GUARDIAN, reason="x", policy=QUIET
            )

    def test_refusals_name_the_field_or_the_reason(
        self, db_session: Session, agent: str, clock: FixedClock
    ) -> None:
        with pytest.raises(InvalidAutonomyInput, match=r"reason: is required"):
            raise_level(db_session, agent_id=agent, to_level=2, by=GUARDIAN, reason=" ")
        with pytest.raises(InvalidAutonomyInput, match=r"reason: .* U\+0007 at position 3"):
            raise_level(db_session, agent_id=agent, to_level=2, by=GUARDIAN, reason="ok\x07")
        with pytest.raises(InvalidAutonomyInput, match=r"to_level: must be a level from 0 to 3"):
            raise_level(db_session, agent_id=agent, to_level=7, by=GUARDIAN, reason="x")
        raise_to(db_session, agent, 2, clock)
        with pytest.raises(RaiseRefused, match=r"is not above the current level 2"):
            raise_level(
                db_session, agent_id=agent, to_level=2, by=GUARDIAN, reason="x", policy=QUIET
            )
        with pytest.raises(AgentNotFound):
            raise_level(db_session, agent_id="nobody", to_level=2, by=GUARDIAN, reason="x")


class TestLowerLevel:
    @pytest.mark.parametrize("who", [GUARDIAN, BACKUP, "admin"])
    def test_those_who_answer_for_the_agent_tighten_it_at_once(
        self, db_session: Session, agent: str, clock: FixedClock, who: str
    ) -> None:
        raise_to(db_session, agent, 3, clock)
        shown = lower_level(
            db_session,
            agent_id=agent,
            to_level=0,
            by=who,
            reason="complaints about replies this week",
            policy=QUIET,
            clock=clock,
        )
        assert shown.effective == 0
        entry = ledger(db_session, "autonomy.changed")[-1]
        payload = json.loads(entry.payload)
        assert (payload["direction"], payload["to_level"], payload["by_hand"]) == (
            "lowered",
            0,
            True,
        )
        assert entry.actor == f"user:{who}"

    def test_refusals(self, db_session: Session, agent: str) -> None:
        with pytest.raises(
            LowerRefused, match=r"'r.wu' is not its guardian, its backup guardian or an admin"
        ):
            lower_level(db_session, agent_id=agent, to_level=0, by="r.wu", reason="x")
        with pytest.raises(LowerRefused, match=r"1 is not below the current level 1"):
            lower_level(
                db_session, agent_id=agent, to_level=1, by=GUARDIAN, reason="x", policy=QUIET
            )
        with pytest.raises(InvalidAutonomyInput, match=r"reason: is required"):
            lower_level(db_session, agent_id=agent, to_level=0, by=GUARDIAN, reason="")
        with pytest.raises(InvalidAutonomyInput, match=r"reason: .* U\+001B at position 1"):
            lower_level(db_session, agent_id=agent, to_level=0, by=GUARDIAN, reason="\x1b[0m")


class TestEvaluate:
    def test_human_overrides_lower_the_level_at_once_with_the_numbers(
        self,
        db_session: Session,
        agent: str,
        queued: Enqueue,
        config: ControlConfig,
        clock: FixedClock,
    ) -> None:
        raise_to(db_session, agent, 3, clock)
        clock.advance(timedelta(minutes=1))
        items = [queued(value=f"Dept {i}") for i in range(5)]
        for number, item in enumerate(items):
            rejected = number < 2
            decide(
                db_session,
                item_id=item.id,
                reviewer=GUARDIAN,
                decision="reject" if rejected else "approve",
                reason_code="wrong_department" if rejected else None,
                config=config,
                policy=POLICY,
                autonomy_policy=QUIET,
                clock=clock,
            )
        # The fifth human decision made the override rate judgeable: 2 of 5 > 0.3.
        assert current_level(db_session, agent) == 2
        entry = ledger(db_session, "autonomy.changed")[-1]
        payload = json.loads(entry.payload)
        assert (payload["direction"], payload["from_level"], payload["to_level"]) == (
            "lowered",
            3,
            2,
        )
        assert entry.actor == "system:autonomy"
        assert payload["metrics"]["override_rate"] == 0.4
        assert payload["metrics"]["reviewed"] == 5
        assert payload["breaches"] == [
            {"metric": "override_rate", "value": 0.4, "threshold": 0.3, "steps": 1}
        ]
        assert json.loads(entry.responsible)["guardian"] == f"user:{GUARDIAN}"
        # Each level is judged on the decisions taken at that level: no second drop
        # from the same evidence.
        clock.advance(timedelta(minutes=1))
        again = evaluate(db_session, agent_id=agent, policy=QUIET, clock=clock)
        assert (again.from_level, again.to_level, again.metrics["decisions"]) == (2, 2, 0)

    def test_too_few_decisions_change_nothing(
        self,
        db_session: Session,
        agent: str,
        queued: Enqueue,
        config: ControlConfig,
        clock: FixedClock,
    ) -> None:
        raise_to(db_session, agent, 3, clock)
        clock.advance(timedelta(minutes=1))
        for item in [queued() for _ in range(3)]:
            decide(
                db_session,
                item_id=item.id,
                reviewer=GUARDIAN,
                decision="reject",
                reason_code="wrong_department",
                config=config,
                policy=POLICY,
                autonomy_policy=QUIET,
                clock=clock,
            )
        result = evaluate(db_session, agent_id=agent, policy=QUIET, clock=clock)
        assert result.metrics["override_rate"] is None
        assert (result.to_level, result.breaches) == (3, ())

    def test_an_upheld_appeal_lowers_the_level(
        self,
        db_session: Session,
        agent: str,
        make_pending: MakePending,
        config: ControlConfig,
        clock: FixedClock,
    ) -> None:
        raise_to(db_session, agent, 3, clock)
        clock.advance(timedelta(minutes=1))
        applied = [make_pending(level=3) for _ in range(5)]  # the agent acted alone
        assert evaluate(db_session, agent_id=agent, policy=QUIET, clock=clock).to_level == 3
        appeal = file_appeal(
            db_session,
            token=applied[0].token,
            proposal_id=applied[0].proposal.id,
            grounds="Wrong department.",
            config=config,
            clock=clock,
        )
        decide_appeal(
            db_session,
            appeal_id=appeal.id,
            by="r.wu",
            outcome="upheld",
            reason="It was the parks department's.",
            config=config,
            autonomy_policy=QUIET,
            clock=clock,
        )
        # 1 of 5 decisions overturned: 0.2 > 0.1 (and not past 0.2, so one level).
        assert current_level(db_session, agent) == 2
        payload = json.loads(ledger(db_session, "autonomy.changed")[-1].payload)
        assert payload["metrics"]["upheld_appeals"] == 1
        assert payload["breaches"][0]["metric"] == "upheld_appeal_rate"

    def test_a_gap_between_groups_lowers_the_level(
        self,
        db_session: Session,
        agent: str,
        make_pending: MakePending,
        clock: FixedClock,
    ) -> None:
        raise_to(db_session, agent, 3, clock)
        clock.advance(timedelta(minutes=1))
        for _ in range(3):
            make_pending(level=3, group={"age_band": "18_34"})  # confident: applied alone
            make_pending(level=3, confidence=0.5, group={"age_band": "65_plus"})  # to a human
        result = evaluate(db_session, agent_id=agent, policy=QUIET, clock=clock)
        gap = result.metrics["group_gap"]
        assert (gap["attribute"], gap["gap"]) == ("age_band", 1.0)
        assert gap["shares"] == {"18_34": 1.0, "65_plus": 0.0}
        assert (result.from_level, result.to_level) == (3, 2)  # 1.0 > 0.5, not past twice it

    def test_a_raise_is_refused_while_the_numbers_still_breach(
        self,
        db_session: Session,
        agent: str,
        make_pending: MakePending,
        clock: FixedClock,
    ) -> None:
        for _ in range(3):
            make_pending(level=3, group={"age_band": "18_34"})
            make_pending(level=3, confidence=0.5, group={"age_band": "65_plus"})
        with pytest.raises(
            RaiseRefused, match=r"its recent decisions still breach: group_gap 1.000"
        ):
            raise_level(
                db_session,
                agent_id=agent,
                to_level=2,
                by=GUARDIAN,
                reason="trust me",
                policy=QUIET,
                clock=clock,
            )

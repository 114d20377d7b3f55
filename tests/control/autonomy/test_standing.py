"""The public register's autonomy standing on SQLite and PostgreSQL: its window's
numbers equal a recomputation from the stored proposals, decisions and appeals (read
here with plain queries, not the controller's code) and the controller's own numbers
for the same moment; counts stay hidden below the controller's minimums; the last
change says what kind of actor changed it and why, naming nobody."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.control import ControlConfig
from cogov.control.autonomy import (
    evaluate,
    lower_level,
    public_standing,
    raise_level,
    register_with_autonomy,
)
from cogov.control.autonomy.schemas import AutonomyPolicy
from cogov.control.models import ProposalRecord
from cogov.core.clock import FixedClock, iso_utc
from cogov.intake.models import Case
from cogov.review import ReviewItemRead, decide, decide_appeal, file_appeal
from cogov.review.models import Appeal
from tests.review.conftest import GUARDIAN, POLICY, Enqueue, MakePending, quiet_policy

# Judges small windows but never lowers: the window stays the same while it is read.
LENIENT = quiet_policy(
    initial_level=1,
    max_override_rate=1.0,
    max_upheld_appeal_rate=1.0,
    max_negative_list_rate=1.0,
    max_group_gap=1.0,
)


def recount(
    session: Session, agent: str, *, since: str | None, now: datetime, policy: AutonomyPolicy
) -> dict[str, Any]:
    """The window's numbers from the stored rows: the agent's latest proposals in the
    window, each one's state, outcome, rule checks, appeal and case groups."""
    limits = policy.thresholds
    start = iso_utc(now - timedelta(days=limits.window_days))
    query = select(ProposalRecord).where(
        ProposalRecord.agent_id == agent,
        ProposalRecord.created_at >= start,
        ProposalRecord.created_at <= iso_utc(now),
    )
    if since is not None:
        query = query.where(ProposalRecord.created_at > since)
    rows = session.scalars(
        query.order_by(ProposalRecord.created_at.desc(), ProposalRecord.id.desc()).limit(
            limits.window_decisions
        )
    ).all()
    upheld = set(
        session.scalars(
            select(Appeal.proposal_id).where(
                Appeal.proposal_id.in_([row.id for row in rows]), Appeal.outcome == "upheld"
            )
        )
    )
    reviewed = [row for row in rows if row.state == "decided"]
    overridden = [row for row in reviewed if row.outcome in ("edited", "rejected")]
    hits = [
        row
        for row in rows
        if row.verdict_by.startswith("rule:")
        or any(str(check.get("ref", "")).startswith("rule:") for check in json.loads(row.reasons))
    ]
    applied = [row for row in rows if row.state == "applied"]
    by_group: dict[tuple[str, str], list[ProposalRecord]] = {}
    for row in rows:
        if row in hits:
            continue
        case = session.get(Case, row.case_id)
        assert case is not None
        for key, value in json.loads(case.group_attributes).items():
            by_group.setdefault((key, str(value)), []).append(row)
    return {
        "proposals": len(rows),
        "applied": len(applied),
        "reviewed": len(reviewed),
        "overridden": len(overridden),
        "upheld": len(upheld),
        "hits": len(hits),
        "groups": {
            group: (len(members), sum(row.state == "applied" for row in members))
            for group, members in by_group.items()
            if len(members) >= limits.min_group_size
        },
    }


def raise_to_three(session: Session, agent: str, clock: FixedClock) -> None:
    raise_level(
        session,
        agent_id=agent,
        to_level=3,
        by=GUARDIAN,
        reason="a month of clean reviews",
        policy=LENIENT,
        clock=clock,
    )
    clock.advance(timedelta(minutes=1))


def two_of_five_rejected(
    session: Session,
    items: list[ReviewItemRead],
    config: ControlConfig,
    clock: FixedClock,
    policy: AutonomyPolicy,
) -> None:
    """The guardian rejects the first two queued proposals and approves the rest."""
    for number, item in enumerate(items):
        decide(
            session,
            item_id=item.id,
            reviewer=GUARDIAN,
            decision="reject" if number < 2 else "approve",
            reason_code="wrong_department" if number < 2 else None,
            config=config,
            policy=POLICY,
            autonomy_policy=policy,
            clock=clock,
        )


class TestWindowMeasures:
    def test_they_equal_a_recomputation_and_the_controllers_numbers(
        self,
        db_session: Session,
        agent: str,
        make_pending: MakePending,
        queued: Enqueue,
        config: ControlConfig,
        clock: FixedClock,
    ) -> None:
        raise_to_three(db_session, agent, clock)
        applied = [make_pending(level=3, group={"age_band": "18_34"}) for _ in range(4)]
        for _ in range(3):
            make_pending(level=3, confidence=0.5, group={"age_band": "65_plus"})
        items = [queued(group={"age_band": "65_plus"}) for _ in range(5)]
        two_of_five_rejected(db_session, items, config, clock, LENIENT)
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
            autonomy_policy=LENIENT,
            clock=clock,
        )
        clock.advance(timedelta(minutes=1))

        shown = public_standing(db_session, agent_id=agent, policy=LENIENT, clock=clock)
        window = shown.window
        # The register, which reads every agent at once, shows the same.
        [entry] = register_with_autonomy(db_session, policy=LENIENT, clock=clock)
        assert entry.autonomy == shown
        since = iso_utc(clock.now() - timedelta(minutes=1 + 1))  # the raise's moment
        counted = recount(db_session, agent, since=since, now=clock.now(), policy=LENIENT)
        assert counted["proposals"] == 12  # the walk above made a dozen: a real window
        assert window.proposals == counted["proposals"]
        assert window.applied_without_person == counted["applied"]
        assert window.applied_share == round(counted["applied"] / counted["proposals"], 4)
        assert (window.reviewed, window.overridden) == (counted["reviewed"], counted["overridden"])
        assert window.override_rate == round(counted["overridden"] / counted["reviewed"], 4)
        assert window.upheld_appeals == counted["upheld"] == 1
        assert window.upheld_appeal_rate == round(counted["upheld"] / counted["proposals"], 4)
        assert window.negative_list_hits == counted["hits"]
        assert window.group_gap is not None
        groups = {
            value: size
            for (key, value), (size, _) in counted["groups"].items()
            if key == "age_band"
        }
        assert window.group_gap.counts == groups
        shares = {
            value: handled / size
            for (key, value), (size, handled) in counted["groups"].items()
            if key == "age_band"
        }
        assert window.group_gap.gap == round(max(shares.values()) - min(shares.values()), 4)
        assert window.since == since

        # The controller, run at the same moment over the same window, saw the same.
        judged = evaluate(db_session, agent_id=agent, policy=LENIENT, clock=clock).metrics
        assert (judged["decisions"], judged["reviewed"], judged["overridden"]) == (
            window.proposals,
            window.reviewed,
            window.overridden,
        )
        assert (judged["upheld_appeals"], judged["rule_hits"]) == (
            window.upheld_appeals,
            window.negative_list_hits,
        )
        assert judged["override_rate"] == window.override_rate
        assert judged["upheld_appeal_rate"] == window.upheld_appeal_rate
        assert judged["negative_list_rate"] == window.negative_list_rate
        assert judged["group_gap"] == window.group_gap.model_dump()

    def test_too_few_proposals_show_no_counts_or_rates(
        self, db_session: Session, agent: str, make_pending: MakePending, clock: FixedClock
    ) -> None:
        raise_to_three(db_session, agent, clock)
        for _ in range(2):
            make_pending(level=3, group={"age_band": "18_34"})
            make_pending(level=3, confidence=0.5, group={"age_band": "65_plus"})
        window = public_standing(db_session, agent_id=agent, policy=LENIENT, clock=clock).window
        assert (window.proposals, window.enough) == (4, False)
        hidden = (
            window.applied_without_person,
            window.applied_share,
            window.reviewed,
            window.overridden,
            window.override_rate,
            window.upheld_appeals,
            window.upheld_appeal_rate,
            window.negative_list_hits,
            window.negative_list_rate,
            window.group_gap,  # groups of 2: under the controller's minimum of 3
        )
        assert hidden == (None,) * len(hidden)


class TestLastChange:
    def test_the_controllers_lowering_with_the_breach_and_its_numbers(
        self,
        db_session: Session,
        agent: str,
        queued: Enqueue,
        config: ControlConfig,
        clock: FixedClock,
    ) -> None:
        quiet = quiet_policy(initial_level=1)
        raise_to_three(db_session, agent, clock)
        two_of_five_rejected(db_session, [queued() for _ in range(5)], config, clock, quiet)
        shown = public_standing(db_session, agent_id=agent, policy=quiet, clock=clock)
        assert (shown.level, shown.ceiling) == (2, 3)
        [entry] = register_with_autonomy(db_session, policy=quiet, clock=clock)
        assert entry.autonomy == shown
        change = shown.last_change
        assert change is not None
        assert (change.direction, change.by, change.from_level, change.to_level) == (
            "lowered",
            "controller",
            3,
            2,
        )
        assert [b.model_dump() for b in change.breaches] == [
            {"metric": "override_rate", "value": 0.4, "threshold": 0.3}
        ]
        # The window starts again at the change: the decisions that caused it are done.
        assert (shown.window.proposals, shown.window.since) == (0, change.changed_at)

    def test_a_raise_and_a_lowering_by_hand_name_nobody(
        self, db_session: Session, agent: str, clock: FixedClock
    ) -> None:
        raise_to_three(db_session, agent, clock)
        raised = public_standing(db_session, agent_id=agent, policy=LENIENT, clock=clock)
        assert raised.last_change is not None
        assert (raised.last_change.direction, raised.last_change.by) == ("raised", "guardian")
        lower_level(
            db_session,
            agent_id=agent,
            to_level=1,
            by="admin",
            reason="complaints from r.wu's team this week",
            policy=LENIENT,
            clock=clock,
        )
        lowered = public_standing(db_session, agent_id=agent, policy=LENIENT, clock=clock)
        assert lowered.last_change is not None
        assert (lowered.last_change.by, lowered.last_change.breaches, lowered.level) == (
            "person",
            [],
            1,
        )
        published = lowered.model_dump_json()
        for private in ("admin", GUARDIAN, "r.wu", "complaints"):
            assert private not in published

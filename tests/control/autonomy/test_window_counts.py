"""The controller counts its window with one aggregate query (``window_counts``).
Over random histories (hypothesis) those counts, and the decision taken from them,
equal a full recomputation: every observation of the agent loaded, the window chosen
and counted in Python (``select_window`` + ``count_window`` / ``decide``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from cogov.control.autonomy import service as autonomy
from cogov.control.autonomy.rules import (
    Thresholds,
    count_window,
    decide,
    decide_on_counts,
    select_window,
)
from cogov.control.models import ProposalRecord
from cogov.control.service import record_config
from cogov.core.canonical import canonical_json
from cogov.core.clock import iso_utc
from cogov.core.ids import new_id
from cogov.intake.models import Case
from cogov.review.models import Appeal
from tests.control.conftest import CONTROL

AGENT = "window-agent"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

# What can make a proposal count as a rule hit, or look like one without being one.
VERDICTS = [
    ("rule:no_rejections", []),  # a rule decided the verdict
    ("routing", [{"ref": "rule:needs_assistance", "verdict": "review"}]),  # a rule spoke
    ("routing", [{"ref": "obligation:human_review", "verdict": "review"}]),
    ("routing", [{"ref": "routing", "reason": 'quoted "ref":"rule:x" in a text'}]),
    ("RULE:upper", [{"ref": "RULE:upper", "verdict": "deny"}]),  # not a rule: case matters
    ("obligation:human_review", []),
]
GROUPS: list[dict[str, Any]] = [
    {},
    {"age_band": "18_34"},
    {"age_band": "65_plus", "needs_assistance": True},
    {"age_band": "65_plus", "needs_assistance": False},
    {"needs_assistance": True},
]
proposal = st.fixed_dictionaries(
    {
        "minute": st.integers(0, 60 * 24 * 40),
        "state": st.sampled_from(["applied", "decided", "pending_review", "refused"]),
        "outcome": st.sampled_from([None, "approved", "edited", "rejected"]),
        "verdict": st.sampled_from(range(len(VERDICTS))),
        "groups": st.sampled_from(range(len(GROUPS))),
        "appeal": st.sampled_from([None, "upheld", "dismissed"]),
        "other_agent": st.booleans(),
    }
)
thresholds = st.builds(
    Thresholds,
    window_decisions=st.integers(1, 15),
    window_days=st.floats(0.5, 45),
    min_decisions=st.integers(1, 6),
    min_reviewed=st.integers(1, 4),
    max_override_rate=st.floats(0, 1),
    max_upheld_appeal_rate=st.floats(0, 1),
    max_negative_list_rate=st.floats(0, 1),
    max_group_gap=st.floats(0, 1),
    min_group_size=st.integers(1, 3),
)


def store(
    session: Session, config_hash: str, made: list[dict[str, Any]], *, agent: str = AGENT
) -> None:
    """Cases, proposals and appeals as the controller reads them, written directly
    (``agent``'s, or another agent's where ``other_agent``)."""
    for item in made:
        case_id = new_id()
        session.add(
            Case(
                id=case_id,
                service_code="noise",
                description="window",
                channel="web",
                attributes="{}",
                group_attributes=canonical_json(GROUPS[item["groups"]]),
                request_hash="0" * 64,
                citizen_token_hash=new_id(),
                received_at=iso_utc(EPOCH),
            )
        )
        session.flush()  # no ORM relationship orders the inserts: the case first
        verdict_by, reasons = VERDICTS[item["verdict"]]
        proposal_id = new_id()
        session.add(
            ProposalRecord(
                id=proposal_id,
                case_id=case_id,
                agent_id="someone-else" if item["other_agent"] else agent,
                agent_version="1",
                engine_ref="test",
                model_hash="0" * 64,
                action="route",
                value="Sanitation",
                confidence=0.5,
                threshold=0.8,
                explanation="{}",
                ai_drafted=False,
                verdict="review",
                verdict_by=verdict_by,
                reasons=canonical_json(reasons),
                state=item["state"],
                outcome=item["outcome"],
                config_hash=config_hash,
                created_at=iso_utc(EPOCH + timedelta(minutes=item["minute"])),
            )
        )
        if item["appeal"] is not None:
            session.flush()
            session.add(
                Appeal(
                    id=new_id(),
                    case_id=case_id,
                    proposal_id=proposal_id,
                    agent_id=agent,
                    grounds="wrong",
                    filed_at=iso_utc(EPOCH),
                    excluded="[]",
                    state="decided",
                    outcome=item["appeal"],
                    version=1,
                )
            )
    session.flush()


class TestWindowCountsEqualAFullRecomputation:
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        made=st.lists(proposal, max_size=30),
        limits=thresholds,
        now_minute=st.integers(0, 60 * 24 * 45),
        change_minute=st.one_of(st.none(), st.integers(0, 60 * 24 * 40)),
        level=st.integers(0, 3),
        ceiling=st.integers(0, 3),
    )
    def test_same_counts_and_decision(
        self,
        db_session: Session,
        made: list[dict[str, Any]],
        limits: Thresholds,
        now_minute: int,
        change_minute: int | None,
        level: int,
        ceiling: int,
    ) -> None:
        # Stored once for the test, outside the example's savepoint (it is remembered).
        config_hash = record_config(db_session, config=CONTROL, thresholds={}, clock=None)
        savepoint = db_session.begin_nested()
        try:
            store(db_session, config_hash, made)
            now = EPOCH + timedelta(minutes=now_minute)
            since = None if change_minute is None else EPOCH + timedelta(minutes=change_minute)
            counted = autonomy.window_counts(
                db_session,
                agent_id=AGENT,
                start=iso_utc(now - timedelta(days=limits.window_days)),
                since=None if since is None else iso_utc(since),
                now=iso_utc(now),
                limit=limits.window_decisions,
            )
            everything = autonomy.observations(
                db_session, agent_id=AGENT, since=iso_utc(EPOCH - timedelta(days=1)), limit=10_000
            )
            window = select_window(everything, now=now, since=since, thresholds=limits)
            assert counted == count_window(window)
            assert decide_on_counts(
                current=level, ceiling=ceiling, counts=counted, thresholds=limits
            ) == decide(
                current=level,
                ceiling=ceiling,
                observations=everything,
                now=now,
                since=since,
                thresholds=limits,
            )
        finally:
            savepoint.rollback()

    def test_a_rule_hit_and_an_upheld_appeal_are_counted(self, db_session: Session) -> None:
        config_hash = record_config(db_session, config=CONTROL, thresholds={}, clock=None)
        base = {"state": "decided", "outcome": "edited", "groups": 2, "other_agent": False}
        store(
            db_session,
            config_hash,
            [
                {**base, "minute": 1, "verdict": 1, "appeal": "upheld"},
                {**base, "minute": 2, "verdict": 3, "appeal": "dismissed"},
                {**base, "minute": 3, "verdict": 4, "appeal": None, "state": "applied"},
            ],
        )
        counted = autonomy.window_counts(
            db_session,
            agent_id=AGENT,
            start=iso_utc(EPOCH),
            since=None,
            now=iso_utc(EPOCH + timedelta(hours=1)),
            limit=10,
        )
        assert (counted.decisions, counted.reviewed, counted.overridden) == (3, 2, 2)
        assert (counted.rule_hits, counted.upheld_appeals) == (1, 1)
        group = json.loads(canonical_json(GROUPS[2]))
        assert set(counted.groups) == set(group)
        assert counted.groups["age_band"] == {"65_plus": (2, 1)}
        assert counted.groups["needs_assistance"] == {"yes": (2, 1)}

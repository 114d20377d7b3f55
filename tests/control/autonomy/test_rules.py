"""The controller's pure rules: hand-checked numbers, and properties that must hold
for any history (hypothesis)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cogov.control.autonomy.rules import (
    AutonomyLevel,
    Observation,
    Thresholds,
    check_raise,
    compute_metrics,
    decide,
    effective_level,
    group_gap,
    select_window,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SMALL = Thresholds(
    window_decisions=100,
    window_days=30,
    min_decisions=5,
    min_reviewed=5,
    max_override_rate=0.2,
    max_upheld_appeal_rate=0.1,
    max_negative_list_rate=0.3,
    max_group_gap=0.3,
    min_group_size=3,
)


def obs(
    n: int,
    *,
    minutes_ago: int = 10,
    applied: bool = False,
    reviewed: bool = False,
    overridden: bool = False,
    rule_hit: bool = False,
    upheld: bool = False,
    groups: dict[str, str] | None = None,
) -> Observation:
    return Observation(
        proposal_id=f"p{n:04d}",
        at=NOW - timedelta(minutes=minutes_ago),
        handled_without_human=applied,
        reviewed=reviewed,
        overridden=overridden,
        rule_hit=rule_hit,
        appeal_upheld=upheld,
        groups=groups or {},
    )


class TestLevels:
    def test_levels_have_descriptions_in_both_languages(self) -> None:
        for level in AutonomyLevel:
            assert level.description
            assert level.description_zh

    @pytest.mark.parametrize(
        ("stored", "ceiling", "level"), [(3, 2, 2), (1, 3, 1), (5, 9, 3), (-1, 3, 0)]
    )
    def test_the_grade_caps_the_level(self, stored: int, ceiling: int, level: int) -> None:
        assert effective_level(stored, ceiling) == level

    @pytest.mark.parametrize(
        ("current", "to", "ceiling", "refusal"),
        [
            (1, 2, 3, None),
            (2, 2, 3, "is not above the current level 2"),
            (2, 1, 3, "is not above the current level 2"),
            (1, 3, 2, "is above the grade's ceiling 2"),
            (1, 4, 3, "must be a level from 0 to 3"),
        ],
    )
    def test_check_raise(self, current: int, to: int, ceiling: int, refusal: str | None) -> None:
        found = check_raise(current=current, to_level=to, ceiling=ceiling)
        assert found == refusal or (refusal is not None and found is not None and refusal in found)


class TestMetrics:
    def test_rates_over_a_window(self) -> None:
        window = [
            *(obs(i, reviewed=True, overridden=i < 2) for i in range(5)),  # 2 of 5 overridden
            *(obs(10 + i, applied=True, upheld=i == 0) for i in range(4)),  # 1 upheld
            obs(20, rule_hit=True),
        ]
        metrics = compute_metrics(window, thresholds=SMALL)
        assert (metrics.decisions, metrics.reviewed, metrics.overridden) == (10, 5, 2)
        assert metrics.override_rate == pytest.approx(0.4)
        assert metrics.upheld_appeal_rate == pytest.approx(0.1)
        assert metrics.negative_list_rate == pytest.approx(0.1)

    def test_too_few_decisions_are_not_judged(self) -> None:
        metrics = compute_metrics([obs(1, reviewed=True, overridden=True)], thresholds=SMALL)
        assert metrics.override_rate is None
        assert metrics.upheld_appeal_rate is None
        assert metrics.negative_list_rate is None

    def test_group_gap_leaves_out_rule_decided_cases_and_small_groups(self) -> None:
        young = [obs(i, applied=True, groups={"age_band": "18_34"}) for i in range(4)]
        old = [obs(10 + i, applied=i == 0, groups={"age_band": "65_plus"}) for i in range(4)]
        forced = [obs(20 + i, rule_hit=True, groups={"age_band": "65_plus"}) for i in range(10)]
        tiny = [obs(40 + i, groups={"age_band": "under_18"}) for i in range(2)]
        gap = group_gap([*young, *old, *forced, *tiny], min_group_size=3)
        assert gap is not None
        assert gap.attribute == "age_band"
        assert gap.shares == {"18_34": 1.0, "65_plus": 0.25}
        assert gap.gap == pytest.approx(0.75)

    def test_the_window_counts_back_from_now_since_the_last_change(self) -> None:
        history = [obs(i, minutes_ago=i) for i in range(1, 11)]
        count = dataclasses.replace(SMALL, window_decisions=3)
        assert [
            o.proposal_id for o in select_window(history, now=NOW, since=None, thresholds=count)
        ] == [
            "p0001",
            "p0002",
            "p0003",
        ]
        since = NOW - timedelta(minutes=4)
        kept = select_window(history, now=NOW, since=since, thresholds=SMALL)
        assert [o.proposal_id for o in kept] == ["p0001", "p0002", "p0003"]
        old = [obs(99, minutes_ago=60 * 24 * 31)]
        assert select_window(old, now=NOW, since=None, thresholds=SMALL) == []


class TestDecide:
    def test_a_breach_lowers_at_once_with_the_numbers(self) -> None:
        window = [obs(i, reviewed=True, overridden=i < 2) for i in range(6)]  # 1/3 > 0.2
        decision = decide(
            current=3, ceiling=3, observations=window, now=NOW, since=None, thresholds=SMALL
        )
        assert decision.lowers
        assert decision.target == 2
        (breach,) = decision.breaches
        assert (breach.metric, breach.threshold) == ("override_rate", 0.2)
        assert breach.value == pytest.approx(1 / 3)

    def test_past_twice_the_limit_lowers_two_levels(self) -> None:
        window = [obs(i, reviewed=True, overridden=i < 3) for i in range(6)]  # 0.5 > 0.4
        decision = decide(
            current=3, ceiling=3, observations=window, now=NOW, since=None, thresholds=SMALL
        )
        assert decision.target == 1

    def test_within_limits_the_level_holds(self) -> None:
        window = [obs(i, applied=True) for i in range(20)]
        decision = decide(
            current=2, ceiling=3, observations=window, now=NOW, since=None, thresholds=SMALL
        )
        assert (decision.target, decision.breaches) == (2, ())


observation = st.builds(
    Observation,
    proposal_id=st.uuids().map(str),
    at=st.integers(min_value=0, max_value=60 * 24 * 40).map(lambda m: NOW - timedelta(minutes=m)),
    handled_without_human=st.booleans(),
    reviewed=st.booleans(),
    overridden=st.booleans(),
    rule_hit=st.booleans(),
    appeal_upheld=st.booleans(),
    groups=st.dictionaries(
        st.sampled_from(["age_band", "needs_assistance"]),
        st.sampled_from(["a", "b", "c"]),
        max_size=2,
    ),
)
thresholds = st.builds(
    Thresholds,
    window_decisions=st.integers(1, 300),
    window_days=st.floats(1, 60),
    min_decisions=st.integers(1, 40),
    min_reviewed=st.integers(1, 40),
    max_override_rate=st.floats(0, 1),
    max_upheld_appeal_rate=st.floats(0, 1),
    max_negative_list_rate=st.floats(0, 1),
    max_group_gap=st.floats(0, 1),
    min_group_size=st.integers(1, 30),
)
levels = st.integers(0, 3)


class TestProperties:
    @settings(max_examples=300, deadline=None)
    @given(st.lists(observation, max_size=120), levels, levels, thresholds)
    def test_the_controller_never_raises_a_level(
        self, history: list[Observation], current: int, ceiling: int, limits: Thresholds
    ) -> None:
        decision = decide(
            current=current, ceiling=ceiling, observations=history, now=NOW, since=None,
            thresholds=limits,
        )  # fmt: skip
        assert 0 <= decision.target <= min(current, ceiling)
        # It only moves on evidence: no breach, no change below the ceiling.
        if not decision.breaches:
            assert decision.target == min(current, ceiling)

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(observation, max_size=120),
        st.lists(st.booleans(), max_size=120),
        levels,
        thresholds,
    )
    def test_more_overrides_or_upheld_appeals_never_give_a_higher_level(
        self,
        history: list[Observation],
        worsen: list[bool],
        current: int,
        limits: Thresholds,
    ) -> None:
        # The same decisions, some of them now overridden by a human or found wrong
        # on appeal: the controller must not end up more lenient.
        worse = [
            dataclasses.replace(item, overridden=True, appeal_upheld=True) if flip else item
            for item, flip in zip(history, worsen + [False] * len(history), strict=False)
        ]
        args = {"current": current, "ceiling": 3, "now": NOW, "since": None, "thresholds": limits}
        better = decide(observations=history, **args)  # type: ignore[arg-type]
        poorer = decide(observations=worse, **args)  # type: ignore[arg-type]
        assert poorer.target <= better.target

    @settings(max_examples=200, deadline=None)
    @given(st.lists(observation, max_size=120), st.lists(st.booleans(), max_size=120), levels)
    def test_more_rule_hits_never_give_a_higher_level_where_no_groups_are_recorded(
        self, history: list[Observation], worsen: list[bool], current: int
    ) -> None:
        plain = [dataclasses.replace(item, groups={}) for item in history]
        worse = [
            dataclasses.replace(item, rule_hit=True) if flip else item
            for item, flip in zip(plain, worsen + [False] * len(plain), strict=False)
        ]
        args = {"current": current, "ceiling": 3, "now": NOW, "since": None, "thresholds": SMALL}
        assert (
            decide(observations=worse, **args).target <= decide(observations=plain, **args).target
        )  # type: ignore[arg-type]

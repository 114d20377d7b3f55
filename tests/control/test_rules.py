"""The routing decision, property-tested: nothing a rule, the process, the grade or
the autonomy level holds back is ever applied."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cogov.control.negative_list import RuleHit, RuleVerdict
from cogov.control.process import Label
from cogov.control.rules import (
    CheckCode,
    Obligations,
    Refusal,
    RoutingInput,
    RoutingPolicy,
    Verdict,
    decide,
    sample_draw,
)

POLICY = RoutingPolicy(
    action_levels={
        "categorise": 1,
        "prioritise": 1,
        "route": 2,
        "mark_duplicate": 2,
        "draft_reply": 2,
    },
    citizen_affecting=frozenset({"route", "prioritise", "mark_duplicate", "draft_reply"}),
    threshold_floor={"draft_reply": 0.9},
    order=("categorise", "prioritise", "route", "mark_duplicate", "draft_reply"),
    supervised_sample_rate=0.05,
)
REASON = Label(en="because", zh="因为")
ACTIONS = st.sampled_from(
    ["categorise", "prioritise", "route", "mark_duplicate", "draft_reply", "close", "unknown"]
)
HITS = st.lists(
    st.builds(
        RuleHit,
        rule_id=st.sampled_from(["a", "b", "c"]),
        verdict=st.sampled_from(list(RuleVerdict)),
        reason=st.just(REASON),
        error=st.one_of(st.none(), st.just("boom")),
    ),
    max_size=3,
)
OBLIGATIONS = st.builds(
    Obligations,
    suggest_only=st.booleans(),
    human_approves_citizen_affecting=st.booleans(),
    review_sample_rate=st.floats(0.0, 1.0),
    max_autonomy_level=st.integers(0, 3),
)
INPUTS = st.builds(
    RoutingInput,
    action=ACTIONS,
    confidence=st.floats(0.0, 1.0),
    engine_threshold=st.floats(0.0, 1.0),
    obligations=OBLIGATIONS,
    autonomy_level=st.integers(-1, 5),
    rule_hits=HITS,
    process_refusal=st.one_of(
        st.none(),
        st.just(
            Refusal(
                CheckCode.PROCESS_NO_ACTION,
                "process 'standard' has no route in state 'closed'",
                {"process": "standard", "action": "route", "state": "closed"},
            )
        ),
    ),
    sample_draw=st.floats(0.0, 1.0, exclude_max=True),
)


class TestDecide:
    @given(INPUTS)
    def test_apply_only_when_nothing_holds_it_back(self, routing: RoutingInput) -> None:
        decision = decide(routing, POLICY)
        level = max(0, min(routing.autonomy_level, routing.obligations.max_autonomy_level))
        held_back = (
            bool(routing.rule_hits)
            or routing.process_refusal is not None
            or routing.obligations.suggest_only
            or (
                routing.obligations.human_approves_citizen_affecting
                and routing.action in POLICY.citizen_affecting
            )
            or level < POLICY.level_needed(routing.action)
            or routing.confidence < POLICY.threshold(routing.action, routing.engine_threshold)
            or routing.sample_draw < POLICY.sample_rate(routing.obligations, level)
        )
        assert (decision.verdict is Verdict.APPLY) == (not held_back)

    @given(INPUTS)
    def test_a_deny_rule_always_denies_and_names_itself(self, routing: RoutingInput) -> None:
        decision = decide(routing, POLICY)
        denying = [h for h in routing.rule_hits if h.verdict is RuleVerdict.DENY]
        if denying:
            assert decision.verdict is Verdict.DENY
            assert decision.decided_by == f"rule:{denying[0].rule_id}"
        else:
            assert decision.verdict is not Verdict.DENY

    @given(INPUTS)
    def test_every_check_that_spoke_is_kept_and_the_first_decides(
        self, routing: RoutingInput
    ) -> None:
        decision = decide(routing, POLICY)
        assert decision.checks
        assert decision.checks[0].ref == decision.decided_by
        assert decision.checks[0].verdict is decision.verdict
        assert len(decision.checks) >= len(routing.rule_hits)

    @given(INPUTS)
    def test_every_check_has_a_code_and_plain_params(self, routing: RoutingInput) -> None:
        # Pages say each check in their reader's language from its code and params.
        for check in decide(routing, POLICY).checks:
            assert isinstance(check.code, CheckCode)
            assert all(isinstance(v, str | int | float) for v in check.params.values())
            if check.source == "process":
                assert routing.process_refusal is not None
                assert check.code is routing.process_refusal.code
                assert check.params == routing.process_refusal.params

    def test_autonomy_and_threshold_checks_carry_their_numbers(self) -> None:
        decision = decide(
            RoutingInput(
                action="route",
                confidence=0.5,
                engine_threshold=0.78,
                obligations=Obligations(),
                autonomy_level=1,
            ),
            POLICY,
        )
        by_code = {check.code: check for check in decision.checks}
        autonomy = by_code[CheckCode.AUTONOMY_BELOW]
        assert autonomy.params == {
            "action": "route",
            "needed": POLICY.level_needed("route"),
            "level": 1,
        }
        below = by_code[CheckCode.BELOW_THRESHOLD]
        assert below.params == {"confidence": 0.5, "threshold": decision.threshold}

    def test_unknown_action_is_never_applied_alone(self) -> None:
        decision = decide(
            RoutingInput(
                action="close",
                confidence=1.0,
                engine_threshold=0.0,
                obligations=Obligations(),
                autonomy_level=3,
            ),
            POLICY,
        )
        assert decision.verdict is Verdict.REVIEW
        assert decision.decided_by == "autonomy:level_3"

    def test_confident_route_within_limits_applies(self) -> None:
        decision = decide(
            RoutingInput(
                action="route",
                confidence=0.99,
                engine_threshold=0.8,
                obligations=Obligations(max_autonomy_level=3),
                autonomy_level=3,
            ),
            POLICY,
        )
        assert decision.verdict is Verdict.APPLY
        assert decision.decided_by == "routing:within_limits"

    def test_grade_caps_the_autonomy_level(self) -> None:
        decision = decide(
            RoutingInput(
                action="route",
                confidence=0.99,
                engine_threshold=0.8,
                obligations=Obligations(max_autonomy_level=1),
                autonomy_level=3,
            ),
            POLICY,
        )
        assert decision.decided_by == "autonomy:level_1"
        assert decision.autonomy_level == 1

    def test_draft_replies_meet_the_deployer_floor(self) -> None:
        decision = decide(
            RoutingInput(
                action="draft_reply",
                confidence=0.85,
                engine_threshold=0.5,
                obligations=Obligations(),
                autonomy_level=3,
            ),
            POLICY,
        )
        assert decision.decided_by == "threshold:draft_reply"
        assert decision.threshold == 0.9

    def test_nan_confidence_goes_to_a_human(self) -> None:
        decision = decide(
            RoutingInput(
                action="categorise",
                confidence=float("nan"),
                engine_threshold=0.5,
                obligations=Obligations(),
                autonomy_level=3,
            ),
            POLICY,
        )
        assert decision.verdict is Verdict.REVIEW


class TestSampleDraw:
    @given(st.text())
    def test_in_unit_interval_and_fixed_by_key(self, key: str) -> None:
        assert 0.0 <= sample_draw(key) < 1.0
        assert sample_draw(key) == sample_draw(key)

    def test_spreads_evenly(self) -> None:
        draws = [sample_draw(f"case-{i}") for i in range(4000)]
        share = sum(d < 0.1 for d in draws) / len(draws)
        assert 0.08 < share < 0.12

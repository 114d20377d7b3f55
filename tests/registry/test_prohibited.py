"""Prohibited uses found in free text: the cases a keyword matcher gets wrong both ways."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cogov.registry import ProhibitedUse, detect_prohibited

SOCIAL = ProhibitedUse.SOCIAL_SCORING
TRAIT = ProhibitedUse.PROTECTED_TRAIT_INFERENCE
BIOMETRIC = ProhibitedUse.BIOMETRIC_CATEGORISATION
MANIPULATION = ProhibitedUse.MANIPULATION


def uses(text: str) -> set[ProhibitedUse]:
    return {finding.use for finding in detect_prohibited(text)}


class TestProhibitedEnglish:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("rate citizens based on their behavior for government rewards", {SOCIAL}),
            ("Residents will be ranked by their social behaviour for benefits.", {SOCIAL}),
            ("Scoring of residents by their conduct, with penalties for low scores.", {SOCIAL}),
            ("Give residents a social credit score that restricts access to housing", {SOCIAL}),
            ("compute a trust score for each resident", {SOCIAL}),
            ("decide residents' access to services based on their social credit score",
             {SOCIAL}),
            ("We do not score citizens; we rank residents by their conduct for benefits.",
             {SOCIAL}),
            ("infer callers' ethnicity from their names", {TRAIT}),
            ("infer the ethnicity of callers", {TRAIT}),
            ("infer ethnicity from surnames", {TRAIT}),
            ("classify callers by religion", {TRAIT}),
            ("predict which residents are likely to be gay", {TRAIT}),
            ("categorise callers by their voice", {BIOMETRIC}),
            ("sort callers by facial features", {BIOMETRIC}),
            ("discourage residents from filing appeals", {MANIPULATION}),
            ("exploit the vulnerabilities of elderly callers", {MANIPULATION}),
            ("The system uses subliminal messages", {MANIPULATION}),
        ],
    )  # fmt: skip
    def test_prohibited(self, text: str, expected: set[ProhibitedUse]) -> None:
        assert uses(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            # the act's object is not a person
            "rate the road surface condition reported by citizens",
            "score the quality of answers drafted for residents",
            "rank residents' requests by urgency",
            "predict the department that should handle each request",
            "detect public health hazards such as rodents reported by residents",
            "detect health hazards reported by residents",
            "identify religious buildings on the route",
            "Assess the health of street trees reported by residents",
            # persons, but no conduct basis and no outcome
            "Prioritise requests from elderly residents for faster service",
            "identify residents who need assistance",
            "flag repeated abusive behaviour by callers to a supervisor",
            # creditworthiness is not social scoring
            "check applicants' credit score for housing loan eligibility",
            # negated
            "we never score citizens",
            "We never score citizens on their behaviour for rewards or penalties.",
            "Residents will not be ranked by their social behaviour for benefits.",
            "The agent does not infer ethnicity; it routes requests",
            "Routes noise complaints to the right department and flags duplicates.",
        ],
    )
    def test_not_prohibited(self, text: str) -> None:
        assert uses(text) == set()


class TestProhibitedChinese:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("对市民的日常行为进行评分，并根据社会信用分给予奖惩", {SOCIAL}),
            ("对市民的不文明行为打分并处罚", {SOCIAL}),
            ("推断来电人的民族和宗教信仰", {TRAIT}),
            ("通过声纹对来电人进行分类", {BIOMETRIC}),
            ("诱导投诉人撤回申诉", {MANIPULATION}),
            ("根据居民的社会信用分决定其能否享受公共服务", {SOCIAL}),
            ("利用人脸识别对来电人按民族进行分类", {BIOMETRIC, TRAIT}),
        ],
    )
    def test_prohibited(self, text: str, expected: set[ProhibitedUse]) -> None:
        assert uses(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "根据市民上报的路面状况进行评分",
            "我们绝不对市民的行为进行评分或奖惩",
            "本系统不会推断来电人的民族或宗教信仰",
            "将市民诉求分派到相应的职能部门",
            "我们不使用居民的社会信用分，也不会限制其享受公共服务",
        ],
    )
    def test_not_prohibited(self, text: str) -> None:
        assert uses(text) == set()


class TestFindings:
    def test_a_finding_names_its_source_clause_and_language(self) -> None:
        text = "Routes requests. 对市民的日常行为进行评分并给予奖惩。"
        [finding] = detect_prohibited(text, source="purpose")
        assert finding.use is SOCIAL
        assert finding.language == "zh"
        assert "评分" in finding.evidence
        assert "purpose describes scoring people" in finding.reason

    def test_mixed_text_reports_each_use_once(self) -> None:
        text = (
            "Rate citizens on their behaviour for rewards. Rank residents by their conduct "
            "for penalties. Infer the religion of callers."
        )
        assert [f.use for f in detect_prohibited(text)] == sorted([SOCIAL, TRAIT])


VERBS = st.sampled_from(["rate", "score", "rank", "grade", "evaluate"])
PERSONS = st.sampled_from(["citizens", "residents", "applicants", "callers", "households"])
DETERMINERS = st.sampled_from(["", "all ", "the ", "each of the ", "local "])
BASES = st.sampled_from(["behaviour", "behavior", "conduct", "social behaviour", "trustworthiness"])
OUTCOMES = st.sampled_from(["rewards", "penalties", "benefits", "sanctions", "access to services"])
THINGS = st.sampled_from(
    ["the road surface condition", "the noise level", "the streetlight outage", "the pothole"]
)
NEGATIONS = st.sampled_from(["we never", "the agent does not", "we will not", "it cannot"])


class TestGrammarProperties:
    @given(VERBS, DETERMINERS, PERSONS, BASES, OUTCOMES)
    def test_scoring_people_on_conduct_for_an_outcome_is_found(
        self, verb: str, det: str, person: str, basis: str, outcome: str
    ) -> None:
        text = f"{verb} {det}{person} based on their {basis} for {outcome}"
        assert SOCIAL in uses(text)

    @given(NEGATIONS, VERBS, DETERMINERS, PERSONS, BASES, OUTCOMES)
    def test_a_negation_cancels_it(
        self, negation: str, verb: str, det: str, person: str, basis: str, outcome: str
    ) -> None:
        text = f"{negation} {verb} {det}{person} based on their {basis} for {outcome}"
        assert uses(text) == set()

    @given(VERBS, THINGS, PERSONS, OUTCOMES)
    def test_rating_a_thing_people_reported_is_not_scoring_people(
        self, verb: str, thing: str, person: str, outcome: str
    ) -> None:
        text = f"{verb} {thing} reported by {person} to decide repair {outcome}"
        assert uses(text) == set()

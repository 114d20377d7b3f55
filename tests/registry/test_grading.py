"""The questionnaire scored like Canada's AIA, and the hard rules that override it."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cogov.core.types import Grade
from cogov.registry import ProhibitedUse, assess, load_questionnaire
from cogov.registry.grading import AnswersInvalid, QuestionKind, grade_for_share

from .conftest import GRADE_ANSWERS

FORM = load_questionnaire()


class TestQuestionnaire:
    def test_every_question_and_answer_is_bilingual(self) -> None:
        for question in FORM.questions:
            assert set(question.text) == {"en", "zh"}, question.id
            for answer in question.answers:
                assert set(answer.text) == {"en", "zh"}, (question.id, answer.id)
                assert answer.text["zh"].strip(), (question.id, answer.id)

    def test_covers_what_the_issue_asks(self) -> None:
        ids = {q.id for q in FORM.questions}
        assert {"decision_affects", "autonomy", "reversibility", "vulnerability",
                "data_sensitivity", "scale", "mitigations"} <= ids  # fmt: skip
        affects = {a.id for a in FORM.question("decision_affects").answers}  # type: ignore[union-attr]
        assert {"information", "routing", "service_access", "enforcement", "rights"} == affects

    def test_maximum_scores(self) -> None:
        assert FORM.max_points(QuestionKind.RISK) == 24
        assert FORM.max_points(QuestionKind.MITIGATION) == 14


class TestGrades:
    @pytest.mark.parametrize("grade", ["I", "II", "III", "IV"])
    def test_plain_case_per_grade(self, grade: str) -> None:
        assessment = assess(GRADE_ANSWERS[grade])
        assert assessment.grade == Grade(grade)
        assert not assessment.is_prohibited

    def test_scores_of_the_grade_ii_example(self) -> None:
        a = assess(GRADE_ANSWERS["II"])
        assert (a.raw_score, a.mitigation_score, a.mitigation_deducted) == (9, 12, True)
        assert a.current_score == 8  # round(0.85 * 9), as the AIA tool rounds

    def test_high_mitigation_lowers_the_grade(self) -> None:
        answers = copy.deepcopy(GRADE_ANSWERS["III"])
        assert assess(answers).grade is Grade.III  # 13/24 = 54%
        answers["mitigations"] = [a.id for a in FORM.question("mitigations").answers]  # type: ignore[union-attr]
        lowered = assess(answers)
        assert lowered.mitigation_deducted
        assert lowered.current_score == 11  # 45.8%
        assert lowered.grade is Grade.II

    def test_mitigation_below_80_percent_deducts_nothing(self) -> None:
        answers = copy.deepcopy(GRADE_ANSWERS["III"])
        # 11 of 14 points is 78.6%: below the 80% the AIA asks for
        answers["mitigations"] = [
            "documented_human_review", "appeal_to_human", "bias_tested", "group_monitoring",
            "explanation_to_person", "data_quality_checked", "guardian_trained",
        ]  # fmt: skip
        assessment = assess(answers)
        assert assessment.mitigation_score == 11
        assert not assessment.mitigation_deducted
        assert assessment.current_score == assessment.raw_score

    @pytest.mark.parametrize(
        ("share", "grade"),
        [(0.0, "I"), (0.25, "I"), (0.2501, "II"), (0.5, "II"), (0.5001, "III"),
         (0.75, "III"), (0.7501, "IV"), (1.0, "IV")],
    )  # fmt: skip
    def test_thresholds_are_inclusive_like_the_aia(self, share: float, grade: str) -> None:
        assert grade_for_share(share, FORM.thresholds) is Grade(grade)


class TestHardRules:
    @pytest.mark.parametrize(
        ("question", "use"),
        [
            ("scores_people_behaviour", ProhibitedUse.SOCIAL_SCORING),
            ("infers_protected_traits", ProhibitedUse.PROTECTED_TRAIT_INFERENCE),
            ("biometric_categorisation", ProhibitedUse.BIOMETRIC_CATEGORISATION),
            ("manipulation", ProhibitedUse.MANIPULATION),
        ],
    )
    def test_explicit_answer_marks_prohibited_whatever_the_grade(
        self, question: str, use: ProhibitedUse
    ) -> None:
        answers = {**GRADE_ANSWERS["I"], question: "yes"}
        assessment = assess(answers)
        assert assessment.grade is Grade.I  # the score alone says low impact ...
        assert [f.use for f in assessment.prohibited] == [use]  # ... the hard rule overrides
        assert assessment.prohibited[0].source == f"impact_assessment.answers.{question}"

    def test_purpose_text_is_read_too(self) -> None:
        purpose = "Rate citizens based on their behavior for government rewards."
        assessment = assess(GRADE_ANSWERS["I"], purpose=purpose)
        assert [f.use for f in assessment.prohibited] == [ProhibitedUse.SOCIAL_SCORING]
        assert assessment.prohibited[0].source == "purpose"

    def test_a_use_declared_and_described_is_reported_once(self) -> None:
        answers = {**GRADE_ANSWERS["I"], "scores_people_behaviour": "yes"}
        purpose = "rate citizens based on their behavior for government rewards"
        assert len(assess(answers, purpose=purpose).prohibited) == 1


class TestInvalidAnswers:
    @pytest.mark.parametrize(
        ("change", "field", "reason"),
        [
            ({"autonomy": None}, "impact_assessment.answers.autonomy", "required"),
            ({"autonomy": "sometimes"}, "impact_assessment.answers.autonomy", "'sometimes'"),
            ({"mitigations": "bias_tested"}, "impact_assessment.answers.mitigations",
             "must be a list"),
            ({"mitigations": ["bias_tested", "magic"]},
             "impact_assessment.answers.mitigations[1]", "'magic'"),
            ({"favourite_colour": "blue"}, "impact_assessment.answers.favourite_colour",
             "not a question"),
        ],
    )  # fmt: skip
    def test_names_the_answer(self, change: dict[str, Any], field: str, reason: str) -> None:
        answers = {**GRADE_ANSWERS["II"], **change}
        answers = {key: value for key, value in answers.items() if value is not None}
        with pytest.raises(AnswersInvalid) as caught:
            assess(answers)
        assert any(f == field and reason in r for f, r in caught.value.problems)


def _answers() -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for question in FORM.questions:
        ids = [a.id for a in question.answers]
        if question.kind is QuestionKind.PROHIBITED_USE:
            fields[question.id] = st.just("no")
        elif question.many:
            fields[question.id] = st.lists(st.sampled_from(ids), unique=True)
        else:
            fields[question.id] = st.sampled_from(ids)
    return st.fixed_dictionaries(fields)


class TestScoringProperties:
    @given(_answers())
    def test_grade_follows_the_aia_formula(self, answers: dict[str, Any]) -> None:
        a = assess(answers)
        assert 0 <= a.current_score <= a.raw_score <= a.max_raw_score
        # JavaScript's Math.round(x) is floor(x + 0.5): the AIA tool's rounding
        expected = math.floor((1 - 0.15) * a.raw_score + 0.5) if a.mitigation_deducted else None
        assert a.current_score == (expected if expected is not None else a.raw_score)
        assert a.mitigation_deducted == (a.mitigation_score >= 0.8 * a.max_mitigation_score)
        assert a.grade is grade_for_share(a.current_score / a.max_raw_score, FORM.thresholds)

    @given(_answers())
    def test_more_safeguards_never_raise_the_grade(self, answers: dict[str, Any]) -> None:
        every = [a.id for a in FORM.question("mitigations").answers]  # type: ignore[union-attr]
        with_all = {**answers, "mitigations": every}
        order = list(Grade)
        assert order.index(assess(with_all).grade) <= order.index(assess(answers).grade)

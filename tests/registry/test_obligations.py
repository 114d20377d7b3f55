from __future__ import annotations

import pytest

from cogov.core.types import Grade
from cogov.registry import obligations_for


class TestObligations:
    def test_grade_i_acts_alone_within_its_negative_list(self) -> None:
        o = obligations_for(Grade.I)
        assert o.may_act_alone
        assert not o.needs_confidence_above_threshold
        assert (o.max_autonomy_level, o.review_sample_rate, o.needs_sandbox_report) == (3, 0, False)

    def test_grade_ii_alone_above_threshold_with_sampling(self) -> None:
        o = obligations_for("II")
        assert o.may_act_alone
        assert o.needs_confidence_above_threshold
        assert 0 < o.review_sample_rate < 1
        assert not o.human_approves_citizen_affecting
        assert o.max_autonomy_level == 2

    def test_grade_iii_a_human_approves_every_citizen_affecting_decision(self) -> None:
        o = obligations_for(Grade.III)
        assert not o.may_act_alone
        assert o.human_approves_citizen_affecting
        assert not o.suggest_only
        assert o.needs_sandbox_report
        assert o.max_autonomy_level == 1

    def test_grade_iv_suggests_only(self) -> None:
        o = obligations_for(Grade.IV)
        assert o.suggest_only
        assert o.human_approves_citizen_affecting
        assert o.needs_sandbox_report
        assert o.max_autonomy_level == 0

    @pytest.mark.parametrize("grade", list(Grade))
    def test_plain_language_in_both_languages(self, grade: Grade) -> None:
        o = obligations_for(grade)
        assert o.summary_en.endswith(".")
        assert o.summary_zh.endswith("。")
        assert o.as_dict()["grade"] == grade.value

    def test_autonomy_cap_falls_as_the_grade_rises(self) -> None:
        levels = [obligations_for(g).max_autonomy_level for g in Grade]
        assert levels == sorted(levels, reverse=True)

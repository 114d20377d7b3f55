from __future__ import annotations

from importlib import resources

import pytest
import yaml

from cogov.core.types import Grade
from cogov.registry import obligations_for
from cogov.registry.obligations import _load


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


class TestObligationTable:
    """The per-grade obligations are data (data/obligations.yaml), checked when loaded."""

    def _table(self) -> dict[str, dict[str, object]]:
        text = resources.files("cogov.registry").joinpath("data/obligations.yaml").read_text()
        loaded: dict[str, dict[str, object]] = yaml.safe_load(text)
        return loaded

    def test_the_shipped_table_gives_every_grade(self) -> None:
        table = _load(self._table())
        assert set(table) == set(Grade)
        assert all(table[g] == obligations_for(g) for g in Grade)

    def test_a_missing_grade_is_refused(self) -> None:
        table = self._table()
        del table["III"]
        with pytest.raises(ValueError, match="grade III must give exactly"):
            _load(table)

    def test_a_missing_field_is_refused(self) -> None:
        table = self._table()
        del table["II"]["suggest_only"]
        with pytest.raises(ValueError, match="grade II must give exactly"):
            _load(table)

    @pytest.mark.parametrize(
        ("field", "value"),
        [("suggest_only", 1), ("max_autonomy_level", True), ("review_sample_rate", "0.1")],
    )
    def test_a_value_of_the_wrong_type_is_refused(self, field: str, value: object) -> None:
        table = self._table()
        table["I"][field] = value
        with pytest.raises(ValueError, match=f"I.{field} must be a"):
            _load(table)

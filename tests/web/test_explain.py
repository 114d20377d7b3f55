"""An AI proposal's explanation and control's checks, worded in the page's language
from their structured data (cogov.web.explain), in English and Chinese."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cogov.control.rules import CheckCode
from cogov.web import explain
from cogov.web.i18n import ENGLISH, SIMPLIFIED_CHINESE

# A word of English (three Latin letters in a row): none may reach a Chinese page
# unless the data itself is English.
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")


EN = explain.gettext_for(ENGLISH)  # as Page.gettext words it
ZH = explain.gettext_for(SIMPLIFIED_CHINESE)

# As the default engine stores it (before and after its summary stopped claiming
# anything about routing: a stored claim must never reach a page).
ROUTE = {
    "summary": "route -> 城管局 (confidence 0.99, threshold 0.78: may be applied "
    "automatically); driven by '路灯', '不亮'; 2 of the 3 most similar past cases had "
    "this label.",
    "evidence": [
        {"kind": "token", "label": "路灯", "weight": 0.4},
        {"kind": "token", "label": "不亮", "weight": 0.2},
        {
            "kind": "similar_case",
            "label": "case 7 (城管局)",
            "weight": 0.8,
            "data": {"case_id": "7", "label": "城管局"},
        },
        {
            "kind": "similar_case",
            "label": "case 8 (城管局)",
            "weight": 0.7,
            "data": {"case_id": "8", "label": "城管局"},
        },
        {
            "kind": "similar_case",
            "label": "case 9 (水务局)",
            "weight": 0.6,
            "data": {"case_id": "9", "label": "水务局"},
        },
    ],
    "alternatives": [],
}
DUPLICATE = {
    "summary": "Repeats open case 4 (confidence 0.93): same address, same service, "
    "0.0 h apart, word similarity 0.71.",
    "evidence": [
        {
            "kind": "signal",
            "label": "same address",
            "weight": 2.3,
            "data": {"signal": "same_address"},
        },
        {
            "kind": "signal",
            "label": "same service",
            "weight": 1.1,
            "data": {"signal": "same_service"},
        },
        {
            "kind": "signal",
            "label": "0.0 h apart",
            "weight": -0.1,
            "data": {"signal": "hours_apart", "hours": 0.01},
        },
        {
            "kind": "signal",
            "label": "word similarity 0.71",
            "weight": 0.4,
            "data": {"signal": "word_similarity", "similarity": 0.7123},
        },
        {
            "kind": "signal",
            "label": "this service often merges repeats",
            "weight": 0.3,
            "data": {"signal": "service_history", "often": True},
        },
        {"kind": "similar_case", "label": "case 4", "weight": 0.93, "data": {"case_id": "4"}},
    ],
}


def route_summary(gettext: explain.Gettext, explanation: dict[str, Any] = ROUTE) -> str:
    return explain.summary(
        action="route",
        value="城管局",
        confidence=0.99,
        explanation=explanation,
        gettext=gettext,
    )


class TestSummary:
    def test_english_from_the_structured_data(self) -> None:
        text = route_summary(EN)
        assert text == (
            "Suggests the department 城管局, with confidence 99%. "
            "The words that weighed most: “路灯”, “不亮”. "
            "2 of the 3 most similar past requests had this answer."
        )

    def test_chinese_has_no_english_sentence(self) -> None:
        text = route_summary(ZH)
        assert text == (
            "建议交由 城管局 办理，置信度 99%。起主要作用的词：“路灯”、“不亮”。"
            "最相似的 3 件历史诉求中，有 2 件是这个结果。"
        )
        assert not ENGLISH_WORD.search(text)

    @pytest.mark.parametrize("gettext", [EN, ZH])
    def test_never_repeats_an_engine_claim_about_routing(self, gettext: explain.Gettext) -> None:
        # The engine's threshold (0.78) and its "may be applied automatically" are not
        # the threshold in force nor control's verdict: no page repeats them.
        text = route_summary(gettext)
        for claim in ("0.78", "78%", "threshold", "automatic", "阈值", "自动"):
            assert claim not in text

    def test_similar_cases_without_their_labels_are_not_counted(self) -> None:
        # Stored before evidence had data: the agreement cannot be known, so not said.
        old = {
            **ROUTE,
            "evidence": [{k: v for k, v in e.items() if k != "data"} for e in ROUTE["evidence"]],
        }
        text = route_summary(ZH, old)
        assert "历史诉求" not in text
        assert "“路灯”" in text

    def test_duplicate_signals_in_both_languages(self) -> None:
        def worded(gettext: explain.Gettext) -> str:
            return explain.summary(
                action="mark_duplicate",
                value="4",
                confidence=0.93,
                explanation=DUPLICATE,
                gettext=gettext,
            )

        assert worded(EN) == (
            "Finds that it repeats open request 4, with confidence 93%. What it compared: "
            "same address, same service, 0.0 hours apart, word similarity 0.71, "
            "this service often merges repeats."
        )
        chinese = worded(ZH)
        assert "地址相同、服务类别相同、相隔 0.0 小时、文字相似度 0.71" in chinese
        assert not ENGLISH_WORD.search(chinese)

    def test_a_translated_value_is_shown_and_the_stored_one_compared(self) -> None:
        explanation = {
            "evidence": [
                {
                    "kind": "similar_case",
                    "label": "x",
                    "weight": 1.0,
                    "data": {"case_id": "1", "label": "high"},
                }
            ]
        }
        text = explain.summary(
            action="prioritise",
            value="high",
            shown_value="高",
            confidence=0.5,
            explanation=explanation,
            gettext=ZH,
        )
        assert text.startswith("建议紧急程度为 高，置信度 50%。")
        assert "有 1 件是这个结果" in text

    def test_a_draft_counts_its_passages(self) -> None:
        explanation = {
            "evidence": [
                {
                    "kind": "passage",
                    "label": "water.md: Discoloured water (example content)",
                    "weight": 0.6,
                    "data": {"source": "water.md", "title": "自来水发黄", "example": True},
                }
            ]
        }
        text = explain.summary(
            action="draft_reply", value="…", confidence=0.6, explanation=explanation, gettext=ZH
        )
        assert text == "起草了一份答复，置信度 60%。引用的政策条文：1 条。"


class TestEvidenceLabel:
    def test_signals_and_cases_from_their_data(self) -> None:
        labels = [explain.evidence_label(item, ZH) for item in DUPLICATE["evidence"]]
        assert labels == [
            "地址相同",
            "服务类别相同",
            "相隔 0.0 小时",
            "文字相似度 0.71",
            "该服务类别常合并重复诉求",
            "未办结的诉求 4",
        ]
        assert explain.evidence_label(ROUTE["evidence"][2], EN) == "past request 7 (城管局)"

    def test_a_passage_says_it_is_example_content(self) -> None:
        item = {
            "kind": "passage",
            "label": "water.md: Water (example content)",
            "weight": 0.5,
            "data": {"source": "water.md", "title": "自来水", "example": True},
        }
        assert explain.evidence_label(item, ZH) == "water.md：自来水（示例内容）"
        assert explain.evidence_label(item, EN) == "water.md: 自来水 (example content)"

    def test_without_data_the_stored_label(self) -> None:
        # A word of the request, or an engine that gives no facts: shown as written.
        assert explain.evidence_label({"kind": "token", "label": "路灯", "weight": 1}, ZH) == "路灯"
        item = {"kind": "signal", "label": "same address", "weight": 1}
        assert explain.evidence_label(item, ZH) == "same address"


class TestEvidenceKind:
    def test_known_kinds_in_the_page_language_others_as_they_are(self) -> None:
        assert explain.evidence_kind("similar_case", ZH) == "相似诉求"
        assert explain.evidence_kind("token", EN) == "word"
        assert explain.evidence_kind("an_engines_own", ZH) == "an_engines_own"


class TestCheckText:
    def test_autonomy_in_both_languages(self) -> None:
        check = {
            "ref": "autonomy:level_1",
            "verdict": "review",
            "reason": "route needs autonomy level 2; the agent has 1",
            "code": "autonomy_below",
            "params": {"action": "route", "needed": 2, "level": 1},
        }
        assert explain.check_text(check, EN, chinese=False) == (
            "This action needs autonomy level 2; the agent has level 1."
        )
        chinese = explain.check_text(check, ZH, chinese=True)
        assert chinese == "这一操作需要自主级别 2，该数字员工现为级别 1。"

    def test_threshold_is_the_one_in_force(self) -> None:
        check = {
            "code": "below_threshold",
            "params": {"confidence": 0.775, "threshold": 0.78},
            "reason": "confidence 0.775 is below the threshold 0.780",
        }
        # Rounded to whole percentages both would read 78%.
        assert explain.check_text(check, ZH, chinese=True) == "置信度 77.5% 低于现行阈值 78%。"

    def test_a_rule_speaks_the_page_language(self) -> None:
        check = {
            "code": "rule",
            "reason": "An agent never closes a case.",
            "reason_zh": "不得办结。",
        }
        assert explain.check_text(check, ZH, chinese=True) == "不得办结。"
        assert explain.check_text(check, EN, chinese=False) == "An agent never closes a case."

    def test_a_process_state_is_worded_by_the_page(self) -> None:
        check = {
            "code": "process_no_action",
            "params": {"process": "standard", "action": "route", "state": "closed"},
        }
        text = explain.check_text(check, ZH, chinese=True, state_label=lambda s: f"<{s}>")
        assert text == "诉求处于“<closed>”时，流程 standard 不允许这一步。"

    def test_a_check_stored_before_codes_keeps_its_english_reason(self) -> None:
        check = {"ref": "threshold:route", "reason": "confidence 0.500 is below the threshold"}
        assert explain.check_text(check, ZH, chinese=True) == check["reason"]

    @pytest.mark.parametrize("code", [c for c in CheckCode if c is not CheckCode.RULE])
    def test_every_code_has_words_in_both_languages(self, code: CheckCode) -> None:
        params = {
            "process": "standard",
            "action": "route",
            "state": "closed",
            "target": "assigned",
            "actor": "agent",
            "value": "x",
            "root": "y",
            "allowed": "low, high",
            "needed": 2,
            "level": 1,
            "confidence": 0.5,
            "threshold": 0.8,
            "rate": 0.05,
            "error": "boom",
        }
        check = {"code": code.value, "params": params, "reason": "ENGLISH RECORD"}
        english = explain.check_text(check, EN, chinese=False)
        chinese = explain.check_text(check, ZH, chinese=True)
        assert "ENGLISH RECORD" not in english
        assert "ENGLISH RECORD" not in chinese
        for value in params.values():  # data stays as it is (an id, a state)
            chinese = chinese.replace(str(value), "")
        assert not ENGLISH_WORD.search(chinese)


class TestPercent:
    def test_whole_where_it_is_whole_else_to_a_tenth(self) -> None:
        assert explain.percent(0.99) == "99%"
        assert explain.percent(0.775) == "77.5%"
        assert explain.percent(float("nan")) == "–"

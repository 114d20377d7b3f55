from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cogov.control import ConfigInvalid, RuleCompileError, load_negative_list, parse_negative_list
from cogov.control.negative_list import (
    FUNCTIONS,
    RuleVerdict,
    mentions_any,
    mentions_group,
    referenced_fields,
)

DEFAULT = load_negative_list()


def proposal(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "action": "route",
        "value": "Sanitation",
        "confidence": 0.95,
        "threshold": 0.8,
        "ai_drafted": False,
        "summary": "route -> Sanitation",
        "evidence": [{"kind": "token", "label": "rubbish", "weight": 0.4}],
        "evidence_labels": ["rubbish"],
    }
    base.update(overrides)
    return base


def case(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "service_code": "illegal_dumping",
        "state": "triaged",
        "channel": "web",
        "language": "en",
        "assisted": False,
        "description": "mattress on the kerb",
        "group": {},
        "group_names": [],
    }
    base.update(overrides)
    return base


AGENT = {
    "id": "router",
    "version": "1",
    "grade": "II",
    "autonomy_level": 2,
    "engine": "e",
    "features": ["description"],
}


def hits(p: dict[str, Any], c: dict[str, Any], agent: dict[str, Any] | None = None) -> set[str]:
    return {h.rule_id for h in DEFAULT.evaluate(proposal=p, case=c, agent=agent or AGENT)}


def rule(when: str, *, verdict: str = "deny", rule_id: str = "r") -> str:
    return (
        "rules:\n"
        f"  - id: {rule_id}\n"
        f"    verdict: {verdict}\n"
        "    reason: {en: a, zh: b}\n"
        f"    when: {when}\n"
    )


class TestDefaults:
    def test_a_plain_route_passes(self) -> None:
        assert hits(proposal(), case()) == set()

    @pytest.mark.parametrize("action", ["close", "reject"])
    def test_never_closes_or_rejects(self, action: str) -> None:
        assert "no_reject_or_close" in hits(proposal(action=action), case())

    def test_never_decides_benefits_penalties_enforcement(self) -> None:
        assert "no_benefit_penalty_enforcement_decision" in hits(
            proposal(action="impose_penalty"), case()
        )
        assert "decision_service_needs_human" in hits(
            proposal(), case(service_code="benefits_enquiry")
        )

    def test_never_uses_a_group_attribute(self) -> None:
        found = hits(
            proposal(evidence_labels=["age_band=65_plus"]),
            case(group={"age_band": "65_plus"}, group_names=["age_band"]),
        )
        assert "no_protected_attributes" in found
        assert "no_protected_attributes" in hits(
            proposal(), case(), {**AGENT, "features": ["description", "gender"]}
        )

    def test_a_word_that_contains_a_protected_term_is_not_a_hit(self) -> None:
        assert hits(proposal(evidence_labels=["garbage", "damage", "racetrack"]), case()) == set()

    def test_needs_assistance_goes_to_a_person(self) -> None:
        found = DEFAULT.evaluate(
            proposal=proposal(),
            case=case(group={"needs_assistance": True}, group_names=["needs_assistance"]),
            agent=AGENT,
        )
        assert [(h.rule_id, h.verdict) for h in found] == [
            ("needs_assistance_human", RuleVerdict.REQUIRE_HUMAN)
        ]

    @pytest.mark.parametrize(
        "text", ["You may qualify for a housing subsidy.", "关于低保申请，请携带身份证。"]
    )
    def test_replies_on_listed_topics_go_to_a_person(self, text: str) -> None:
        assert "reply_topics_human" in hits(proposal(action="draft_reply", value=text), case())

    def test_reasons_are_bilingual(self) -> None:
        for item in DEFAULT.rules:
            assert item.reason.en
            assert item.reason.zh


class TestLoad:
    def test_syntax_error_names_line_and_reason(self) -> None:
        text = "params: {}\n" + rule("proposal.action ==")
        with pytest.raises(RuleCompileError) as caught:
            parse_negative_list(text, source="mine.yaml")
        assert caught.value.line == 6
        assert caught.value.rule_id == "r"
        assert "mine.yaml:6" in caught.value.message
        assert "Syntax error" in caught.value.message

    @pytest.mark.parametrize(
        ("when", "reason"),
        [
            ("proposal.acton == 'x'", "no such field 'acton'"),
            ("propsal.action == 'x'", "propsal"),
            ("proposal.confidence", "must be true or false"),
            ("no_such_function(proposal.value)", "no_such_function"),
        ],
    )
    def test_unknown_names_are_refused_at_load(self, when: str, reason: str) -> None:
        with pytest.raises(RuleCompileError, match=reason):
            parse_negative_list(rule(when))

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            (rule("'true'", verdict="maybe"), "verdict must be deny or require_human"),
            (rule("'true'", rule_id="Bad Id"), "must be lower-case"),
            (rule("'true'") + rule("'true'").removeprefix("rules:\n"), "appears twice"),
            (
                "rules:\n  - id: r\n    verdict: deny\n    reason: {en: a}\n    when: 'true'\n",
                "en and zh",
            ),
            ("rules: [\n", "not valid YAML"),
            ("surprise: 1\n", "unknown keys"),
        ],
    )
    def test_malformed_rules_are_refused(self, text: str, reason: str) -> None:
        with pytest.raises(ConfigInvalid, match=reason):
            parse_negative_list(text)

    def test_params_are_visible_to_rules(self) -> None:
        listed = parse_negative_list(
            "params: {banned: [Parks]}\n" + rule("proposal.value in params.banned")
        )
        found = listed.evaluate(proposal=proposal(value="Parks"), case=case(), agent=AGENT)
        assert [h.rule_id for h in found] == ["r"]

    def test_an_optional_field_read_without_has_is_refused_with_a_hint(self) -> None:
        with pytest.raises(RuleCompileError, match=r"has\(\.\.\.\)"):
            parse_negative_list(rule("case.group.age_band == 'x'"))

    def test_a_rule_that_fails_at_run_time_fails_closed(self) -> None:
        listed = parse_negative_list(
            rule("proposal.evidence.size() != 2 || proposal.evidence[5].kind == 'x'")
        )
        two = proposal(evidence=[{"kind": "token", "label": "a", "weight": 1.0}] * 2)
        (hit,) = listed.evaluate(proposal=two, case=case(), agent=AGENT)
        assert hit.verdict is RuleVerdict.REQUIRE_HUMAN
        assert hit.error

    def test_agency_file(self, tmp_path: Path) -> None:
        path = tmp_path / "negative-list.yaml"
        path.write_text(rule("proposal.action == 'route'"), encoding="utf-8")
        listed = load_negative_list(path)
        assert listed.source == str(path)
        assert [r.id for r in listed.rules] == ["r"]


class TestMentions:
    def test_latin_terms_match_whole_words_and_chinese_anywhere(self) -> None:
        assert mentions_any("A FINE day", ["fine"])
        assert not mentions_any("define", ["fine"])
        assert mentions_any("申请补贴流程", ["补贴"])
        assert mentions_group(["x", "age_band=65_plus"], ["age_band"])
        assert not mentions_group([], ["age"])


class TestOneEvaluationPerProposal:
    """All rules run as one CEL program over only the fields they read, with the
    same hits, verdicts and failures as running them one by one on every field."""

    def test_the_defaults_give_the_same_hits_as_rule_by_rule(self) -> None:
        cases = [
            (proposal(), case()),
            (proposal(action="close"), case(service_code="benefits_enquiry")),
            (
                proposal(evidence_labels=["age_band=65_plus"]),
                case(group={"needs_assistance": True}, group_names=["needs_assistance"]),
            ),
            (proposal(action="draft_reply", value="a housing subsidy"), case()),
        ]
        for p, c in cases:
            one_by_one = {
                item.id
                for item in DEFAULT.rules
                if item.program.execute({"proposal": p, "case": c, "agent": AGENT,
                                         "params": DEFAULT.params, **FUNCTIONS})
            }  # fmt: skip
            assert hits(p, c) == one_by_one
        assert DEFAULT.combined is not None

    def test_a_failing_rule_fails_closed_alone(self) -> None:
        listed = parse_negative_list(
            rule("proposal.evidence.size() != 2 || proposal.evidence[5].kind == 'x'")
            + rule("proposal.action == 'route'", rule_id="routes").removeprefix("rules:\n")
            + rule("proposal.value == 'nobody'", rule_id="never").removeprefix("rules:\n")
        )
        two = proposal(evidence=[{"kind": "token", "label": "a", "weight": 1.0}] * 2)
        found = {h.rule_id: h for h in listed.evaluate(proposal=two, case=case(), agent=AGENT)}
        assert set(found) == {"r", "routes"}
        assert found["r"].verdict is RuleVerdict.REQUIRE_HUMAN
        assert found["r"].error
        assert found["routes"].verdict is RuleVerdict.DENY
        assert found["routes"].error is None

    def test_only_the_fields_read_are_given(self) -> None:
        assert referenced_fields("proposal.action == 'x' && has(case.group.a)") == {
            "proposal": frozenset({"action"}),
            "case": frozenset({"group"}),
        }
        assert referenced_fields("size(proposal) > 0 || proposal . value == ''") == {
            "proposal": None
        }
        assert DEFAULT.fields["proposal"] is not None
        assert "evidence" not in DEFAULT.fields["proposal"]

    def test_a_rule_reading_a_variable_whole_sees_every_field(self) -> None:
        listed = parse_negative_list(rule("size(proposal) == 8 && has(proposal.evidence)"))
        assert listed.fields["proposal"] is None
        assert [
            h.rule_id for h in listed.evaluate(proposal=proposal(), case=case(), agent=AGENT)
        ] == ["r"]

    def test_a_new_agent_replaces_the_last_one(self) -> None:
        listed = parse_negative_list(rule("agent.features.exists(f, f == 'gender')"))
        assert not listed.evaluate(proposal=proposal(), case=case(), agent=AGENT)
        other = {**AGENT, "features": ["gender"]}
        assert [h.rule_id for h in listed.evaluate(proposal=proposal(), case=case(), agent=other)]
        assert not listed.evaluate(proposal=proposal(), case=case(), agent=AGENT)

    def test_an_agent_cel_cannot_take_is_never_replaced_by_the_last_one(self) -> None:
        listed = parse_negative_list(rule("agent.features.exists(f, f == 'gender')"))
        assert not listed.evaluate(proposal=proposal(), case=case(), agent=AGENT)
        unreadable = {**AGENT, "features": [object()]}
        for _ in range(2):  # the second time too: not judged as the agent before it
            with pytest.raises(ValueError, match=r"features|object|convert"):
                listed.evaluate(proposal=proposal(), case=case(), agent=unreadable)

    def test_mentions_group_matches_text_by_text(self) -> None:
        assert mentions_group(["age", "x"], ["age"])
        assert not mentions_group(["ag", "e"], ["age"])
        assert not mentions_group(["年", "龄"], ["年龄"])
        assert mentions_group(["a\nb"], ["a\nb"])
        assert not mentions_group(["a", "b"], ["a\nb"])


def _reference_mentions(texts: list[str], terms: list[str]) -> bool:
    """The plain reading of the rule, term by term and text by text."""
    for term in {t.casefold() for t in terms if t.strip()}:
        escaped = re.escape(term)
        pattern = rf"(?<!\w){escaped}(?!\w)" if term.isascii() else escaped
        if any(re.search(pattern, text.casefold()) for text in texts):
            return True
    return False


_PIECES = st.sampled_from(
    ["age", "Age", "age_band", "band", "fine", "define", "legal advice", "self-harm",
     "补贴", "低保", "年龄", "é", "ß", "ss", " ", "-", "\n", "_", "65", "x"]
)  # fmt: skip


class TestMentionsAgreeWithThePlainReading:
    @settings(max_examples=300, deadline=None)
    @given(
        texts=st.lists(st.lists(_PIECES, max_size=6).map("".join), max_size=4),
        terms=st.lists(st.lists(_PIECES, min_size=1, max_size=3).map("".join), max_size=5),
    )
    def test_same_answer(self, texts: list[str], terms: list[str]) -> None:
        assert mentions_group(texts, terms) == _reference_mentions(texts, terms)
        for text in texts:
            assert mentions_any(text, terms) == _reference_mentions([text], terms)

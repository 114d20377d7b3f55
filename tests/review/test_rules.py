"""Review's pure rules: reason codes as data, what a decision must carry, who may
work an item, when it is escalated, and who may not hear an appeal."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cogov.review import ReasonCodesInvalid, load_reason_codes
from cogov.review.rules import (
    Decision,
    check_decision,
    claim_is_live,
    may_work,
    needs_escalation,
    participants,
)

CODES = load_reason_codes()
times = st.integers(0, 9).map(lambda h: f"2026-11-02T0{h}:00:00.000000Z")


class TestReasonCodes:
    def test_the_defaults_hold_the_codes_reviewers_need(self) -> None:
        names = {code.code for code in CODES.codes}
        assert {"local_knowledge", "wrong_department", "duplicate", "policy", "other"} <= names
        assert all(code.label.en and code.label.zh for code in CODES.codes)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("codes: [", "line 1: not valid YAML"),
            ("codes: []", "codes: Tuple should have at least 1 item"),
            (
                "codes:\n  - {code: a_b, applies_to: [edit], label: {en: A, zh: A}}\n",
                "codes: a code 'other' is required",
            ),
            (
                "codes:\n  - {code: other, applies_to: [shrug], label: {en: A, zh: A}}\n",
                "codes.0.applies_to",
            ),
        ],
    )
    def test_an_agency_file_is_refused_naming_the_field(
        self, tmp_path: Path, text: str, message: str
    ) -> None:
        path = tmp_path / "review-reasons.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ReasonCodesInvalid, match=message):
            load_reason_codes(path)


class TestCheckDecision:
    @given(
        st.sampled_from([Decision.EDIT, Decision.REJECT]),
        st.one_of(st.none(), st.just(""), st.just("  ")),
        st.text(max_size=20),
    )
    def test_edit_and_reject_always_need_a_reason_code(
        self, decision: Decision, code: str | None, note: str
    ) -> None:
        with pytest.raises(ValueError, match="reason_code: a reason is required"):
            check_decision(
                decision.value,
                reason_code=code,
                note=note,
                new_value="Parks",
                proposed_value="Sanitation",
                codes=CODES,
            )

    @given(st.sampled_from(sorted(c.code for c in CODES.codes)), st.sampled_from(list(Decision)))
    def test_a_code_is_accepted_only_for_what_it_explains(
        self, code: str, decision: Decision
    ) -> None:
        entry = CODES.get(code)
        assert entry is not None
        values = {
            "reason_code": code,
            "note": "because",
            "new_value": "Parks" if decision is Decision.EDIT else None,
            "proposed_value": "Sanitation",
            "codes": CODES,
        }
        if decision in entry.applies_to:
            assert check_decision(decision.value, **values).reason_code == code  # type: ignore[arg-type]
        else:
            with pytest.raises(ValueError, match="explains only"):
                check_decision(decision.value, **values)  # type: ignore[arg-type]


class TestWhoAndWhen:
    def test_once_escalated_only_the_backup_works_it(self) -> None:
        common = {"team": "t", "guardian": "g", "backup_guardian": "b", "teams_of_user": ["t"]}
        assert may_work("m", escalated_to=None, **common) is None  # type: ignore[arg-type]
        assert may_work("g", escalated_to="b", **common) is not None  # type: ignore[arg-type]
        assert may_work("b", escalated_to="b", **common) is None  # type: ignore[arg-type]
        assert "not a member of team 't'" in (
            may_work("x", escalated_to=None, **{**common, "teams_of_user": []}) or ""  # type: ignore[arg-type]
        )

    @given(
        st.sampled_from(["queued", "claimed", "decided"]),
        times,
        st.one_of(st.none(), times),
        st.one_of(st.none(), st.just("b")),
        times,
    )
    def test_escalation_only_for_overdue_undecided_unworked_items(
        self, state: str, deadline: str, expires: str | None, escalated: str | None, now: str
    ) -> None:
        due = needs_escalation(
            state=state,
            deadline=deadline,
            claim_expires_at=expires,
            escalated_to=escalated,
            now=now,
        )
        if due:
            assert state != "decided"
            assert escalated is None
            assert deadline <= now
            assert not claim_is_live(state, expires, now)

    def test_everyone_who_took_part_is_excluded_with_their_part(self) -> None:
        parts = participants(
            decided_by="a", claimers=["c", "a"], guardian="g", backup_guardian="b", escalated_to="b"
        )
        assert parts == {
            "a": "decided it",
            "c": "claimed it for review",
            "b": "it was escalated to them",
            "g": "guardian of the agent",
        }

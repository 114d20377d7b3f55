"""The Open311 extension's account of what AI did (``cogov`` key, ``ai``): each output's
label in the language asked for, beside machine-readable fields that never change with
it; every proposal state control has worded as the follow page words it (a proposal
withdrawn when its request was merged is not waiting); and the records module importing
its wording at the top, with no import cycle."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import unicodedata

import pytest

from cogov.api.open311 import records
from cogov.control import Outcome, ProposalRead, ProposalState, Verdict
from cogov.web import explain, tracking

PROPOSAL = ProposalRead(
    id="p1",
    case_id="c1",
    agent_id="router",
    agent_version="1",
    engine_ref="engine",
    model_hash="hash",
    action="route",
    value="Sanitation",
    confidence=0.9,
    threshold=0.8,
    explanation={"summary": "Suggests Sanitation.", "evidence": []},
    ai_drafted=False,
    verdict=Verdict.REVIEW,
    verdict_by="policy",
    reasons=[],
    state=ProposalState.PENDING_REVIEW,
    config_hash="config",
    created_at="2026-11-27T10:00:00.000000Z",
    outcome=None,
    final_value=None,
    decided_at=None,
    reviewer_id=None,
)
# Every (state, outcome) a proposal can be in, as control writes them: waiting for a
# person; applied by the agent; decided by a person; cancelled when its request was
# merged into another (no outcome, yet nobody decides it any more).
STANDINGS = [
    (ProposalState.PENDING_REVIEW, None),
    (ProposalState.APPLIED, Outcome.APPLIED),
    (ProposalState.DECIDED, Outcome.APPROVED),
    (ProposalState.DECIDED, Outcome.EDITED),
    (ProposalState.DECIDED, Outcome.REJECTED),
    (ProposalState.CANCELLED, None),
]
Standing = tuple[ProposalState, Outcome | None]
# What English clients have always read (all but the withdrawn); it must not change.
ENGLISH = {
    (False, "pending_review", None): "AI-suggested, waiting for a human decision",
    (False, "applied", "applied"): "AI-suggested, applied by the agent within its limits",
    (False, "decided", "approved"): "AI-suggested, approved by a human",
    (False, "decided", "edited"): "AI-suggested, changed by a human",
    (False, "decided", "rejected"): "AI-suggested, rejected by a human",
    (
        False,
        "cancelled",
        None,
    ): "AI-suggested, withdrawn because the request was merged into another",
    (True, "pending_review", None): "AI-drafted, waiting for a human decision",
    (True, "applied", "applied"): "AI-drafted, applied by the agent within its limits",
    (True, "decided", "approved"): "AI-drafted, approved by a human",
    (True, "decided", "edited"): "AI-drafted, changed by a human",
    (True, "decided", "rejected"): "AI-drafted, rejected by a human",
    (True, "cancelled", None): "AI-drafted, withdrawn because the request was merged into another",
}


def _id(standing: Standing) -> str:
    state, outcome = standing
    return f"{state.value}-{outcome.value if outcome else None}"


def _proposal(ai_drafted: bool, standing: Standing) -> ProposalRead:
    state, outcome = standing
    return dataclasses.replace(PROPOSAL, ai_drafted=ai_drafted, state=state, outcome=outcome)


def _output(ai_drafted: bool, standing: Standing, language: str | None) -> dict[str, object]:
    [output] = records.agent_outputs([_proposal(ai_drafted, standing)], language)
    return output


def _latin_letters(text: str) -> str:
    return "".join(char for char in text if char.isascii() and char.isalpha())


class TestLabel:
    @pytest.mark.parametrize("ai_drafted", [False, True])
    @pytest.mark.parametrize("standing", STANDINGS, ids=_id)
    def test_english(self, ai_drafted: bool, standing: Standing) -> None:
        state, outcome = standing
        key = (ai_drafted, state.value, outcome.value if outcome else None)
        for language in (None, "en", "en-GB,en;q=0.9", "fr"):
            output = _output(ai_drafted, standing, language)
            assert output["label"] == ENGLISH[key]
            assert output["summary_language"] == "en"

    @pytest.mark.parametrize("ai_drafted", [False, True])
    @pytest.mark.parametrize("standing", STANDINGS, ids=_id)
    def test_chinese_has_no_english(self, ai_drafted: bool, standing: Standing) -> None:
        for language in ("zh", "zh-Hans", "zh-CN,zh;q=0.9"):
            output = _output(ai_drafted, standing, language)
            label = str(output["label"])
            assert output["summary_language"] == "zh-Hans"
            assert _latin_letters(label) == "", label
            assert any(unicodedata.name(char, "").startswith("CJK") for char in label)

    def test_chinese_labels_tell_every_case_apart(self) -> None:
        labels = {
            str(_output(ai_drafted, standing, "zh")["label"])
            for ai_drafted in (False, True)
            for standing in STANDINGS
        }
        assert len(labels) == len(ENGLISH)

    @pytest.mark.parametrize("ai_drafted", [False, True])
    @pytest.mark.parametrize("standing", STANDINGS, ids=_id)
    def test_machine_fields_do_not_follow_the_language(
        self, ai_drafted: bool, standing: Standing
    ) -> None:
        state, outcome = standing
        english, chinese = _output(ai_drafted, standing, "en"), _output(ai_drafted, standing, "zh")
        for output in (english, chinese):
            assert output["ai_drafted"] is ai_drafted
            assert output["outcome"] == (outcome.value if outcome else None)
            assert output["state"] == state.value
        assert english["label"] != chinese["label"]


class TestWithdrawn:
    """A proposal cancelled because its request was merged into another as a repeat has
    no outcome, yet nobody will decide it: the extension says withdrawn, as the follow
    page does, never waiting."""

    CANCELLED = (ProposalState.CANCELLED, None)

    @pytest.mark.parametrize("ai_drafted", [False, True])
    def test_it_is_labelled_withdrawn_not_waiting(self, ai_drafted: bool) -> None:
        english = _output(ai_drafted, self.CANCELLED, "en")
        chinese = _output(ai_drafted, self.CANCELLED, "zh")
        assert "withdrawn" in str(english["label"])
        assert "waiting" not in str(english["label"])
        assert "已撤回" in str(chinese["label"])
        assert "等待" not in str(chinese["label"])
        assert (english["state"], english["outcome"]) == ("cancelled", None)

    def test_every_state_control_has_is_worded(self) -> None:
        # A state added to control without its wording here fails (mypy too: the rule
        # in cogov.web.explain.standing matches every state).
        assert {state for state, _ in STANDINGS} == set(ProposalState)
        assert {outcome for _, outcome in STANDINGS} == {None, *Outcome}

    @pytest.mark.parametrize("standing", STANDINGS, ids=_id)
    @pytest.mark.parametrize("language", ["en", "zh"])
    def test_only_a_proposal_pending_review_waits(self, standing: Standing, language: str) -> None:
        waiting = _output(False, (ProposalState.PENDING_REVIEW, None), language)["label"]
        label = _output(False, standing, language)["label"]
        assert (label == waiting) is (standing[0] is ProposalState.PENDING_REVIEW)

    @pytest.mark.parametrize("ai_drafted", [False, True])
    @pytest.mark.parametrize("standing", STANDINGS, ids=_id)
    @pytest.mark.parametrize("language", ["en", "zh"])
    def test_the_label_says_what_the_follow_page_says(
        self, ai_drafted: bool, standing: Standing, language: str
    ) -> None:
        """The follow page and the extension word a proposal from the same standing:
        where one says waiting, or withdrawn, so does the other."""
        proposal = _proposal(ai_drafted, standing)
        gettext = explain.gettext_for(explain.language_asked(language))
        page = tracking.contribution(proposal, gettext).outcome_label
        [output] = records.agent_outputs([proposal], language)
        said = explain.standing(proposal.state, proposal.outcome)
        assert page == gettext(tracking.OUTCOME_LABELS[said])
        assert output["label"] == explain.ai_label(
            ai_drafted=ai_drafted, state=proposal.state, outcome=proposal.outcome, gettext=gettext
        )
        assert (said == explain.WITHDRAWN) is (standing[0] is ProposalState.CANCELLED)
        assert (said == explain.WAITING) is (standing[0] is ProposalState.PENDING_REVIEW)

    def test_a_decided_state_without_an_outcome_names_the_field(self) -> None:
        with pytest.raises(ValueError, match="outcome"):
            explain.standing(ProposalState.DECIDED, None)


def _fresh_interpreter(code: str) -> None:
    """Run ``code`` in a new Python, where nothing is imported yet; fail with its error."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr


class TestNoImportCycle:
    # The loaded modules are checked before anything else is imported.
    ALSO = (
        "from cogov.api import create_app\n"
        "from cogov.web.app import mount\n"
        "from cogov.web.routes.citizen import receive\n"
        "from cogov.api.open311.records import agent_outputs, explain\n"
    )

    def test_records_imports_the_wording_at_the_top_without_the_pages(self) -> None:
        _fresh_interpreter(
            "import sys\n"
            "import cogov.api.open311.records as records\n"
            "assert 'cogov.web.explain' in sys.modules, 'explain not imported at the top'\n"
            "assert records.explain is sys.modules['cogov.web.explain']\n"
            "pages = sorted(m for m in sys.modules if m.startswith('cogov.web.routes'))\n"
            "assert not pages, pages\n" + self.ALSO
        )

    def test_the_citizen_page_may_be_imported_first(self) -> None:
        # The page imports records (receive), which imports the web's wording.
        _fresh_interpreter("import cogov.web.routes.citizen\n" + self.ALSO)

    def test_the_wording_imports_alone_without_pages_or_the_api(self) -> None:
        _fresh_interpreter(
            "import sys\n"
            "import cogov.web.explain\n"
            "loaded = sorted(\n"
            "    m for m in sys.modules\n"
            "    if m.startswith(('cogov.web.routes', 'cogov.web.pages', 'cogov.api', 'fastapi'))\n"
            ")\n"
            "assert not loaded, loaded\n"
        )

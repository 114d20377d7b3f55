"""The Open311 extension's account of what AI did (``cogov`` key, ``ai``): each output's
label in the language asked for, beside machine-readable fields that never change with
it; and the records module importing its wording at the top, with no import cycle."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import unicodedata

import pytest

from cogov.api.open311 import records
from cogov.control import Outcome, ProposalRead, ProposalState, Verdict

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
OUTCOMES = [None, *Outcome]
# What English clients have always read; it must not change.
ENGLISH = {
    (False, None): "AI-suggested, waiting for a human decision",
    (False, "applied"): "AI-suggested, applied by the agent within its limits",
    (False, "approved"): "AI-suggested, approved by a human",
    (False, "edited"): "AI-suggested, changed by a human",
    (False, "rejected"): "AI-suggested, rejected by a human",
    (True, None): "AI-drafted, waiting for a human decision",
    (True, "applied"): "AI-drafted, applied by the agent within its limits",
    (True, "approved"): "AI-drafted, approved by a human",
    (True, "edited"): "AI-drafted, changed by a human",
    (True, "rejected"): "AI-drafted, rejected by a human",
}


def _proposal(ai_drafted: bool, outcome: Outcome | None) -> ProposalRead:
    return dataclasses.replace(PROPOSAL, ai_drafted=ai_drafted, outcome=outcome)


def _output(ai_drafted: bool, outcome: Outcome | None, language: str | None) -> dict[str, object]:
    [output] = records.agent_outputs([_proposal(ai_drafted, outcome)], language)
    return output


def _latin_letters(text: str) -> str:
    return "".join(char for char in text if char.isascii() and char.isalpha())


class TestLabel:
    @pytest.mark.parametrize("ai_drafted", [False, True])
    @pytest.mark.parametrize("outcome", OUTCOMES, ids=str)
    def test_english_is_unchanged(self, ai_drafted: bool, outcome: Outcome | None) -> None:
        key = (ai_drafted, outcome.value if outcome else None)
        for language in (None, "en", "en-GB,en;q=0.9", "fr"):
            output = _output(ai_drafted, outcome, language)
            assert output["label"] == ENGLISH[key]
            assert output["summary_language"] == "en"

    @pytest.mark.parametrize("ai_drafted", [False, True])
    @pytest.mark.parametrize("outcome", OUTCOMES, ids=str)
    def test_chinese_has_no_english(self, ai_drafted: bool, outcome: Outcome | None) -> None:
        for language in ("zh", "zh-Hans", "zh-CN,zh;q=0.9"):
            output = _output(ai_drafted, outcome, language)
            label = str(output["label"])
            assert output["summary_language"] == "zh-Hans"
            assert _latin_letters(label) == "", label
            assert any(unicodedata.name(char, "").startswith("CJK") for char in label)

    def test_chinese_labels_tell_every_case_apart(self) -> None:
        labels = {
            str(_output(ai_drafted, outcome, "zh")["label"])
            for ai_drafted in (False, True)
            for outcome in OUTCOMES
        }
        assert len(labels) == len(ENGLISH)

    @pytest.mark.parametrize("ai_drafted", [False, True])
    @pytest.mark.parametrize("outcome", OUTCOMES, ids=str)
    def test_machine_fields_do_not_follow_the_language(
        self, ai_drafted: bool, outcome: Outcome | None
    ) -> None:
        english, chinese = _output(ai_drafted, outcome, "en"), _output(ai_drafted, outcome, "zh")
        for output in (english, chinese):
            assert output["ai_drafted"] is ai_drafted
            assert output["outcome"] == (outcome.value if outcome else None)
        assert english["label"] != chinese["label"]


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

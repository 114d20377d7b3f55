"""learn_settings: the duplicate finder learnt from an agency's labels, its automatic
threshold chosen from out-of-fold confidences by the classifier's rule."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from cogov.triage.duplicates import (
    DuplicateIndex,
    DuplicateSettings,
    ReplayedCase,
    fold_of,
    learn_settings,
    replay,
)
from cogov.triage.rules import choose_threshold
from tests.triage.test_duplicate_weights import _case

FOLDS = 3


def _history(ambiguous: bool = False) -> tuple[list[ReplayedCase], dict[str, bool]]:
    """At every address a first request, then a second one: the same words again
    (closed as a duplicate), much the same words (half closed as duplicates: a hard
    call), or another problem (not a duplicate). ``ambiguous``: every second request
    is labelled by the toss of a fair coin instead, whatever its words."""
    first = "street light out at the corner of the block"
    seconds = {
        "D": first,
        "M": "street light flickering at the corner",
        "O": "graffiti painted over the bus shelter",
    }
    coin = np.random.default_rng(7)
    history: list[ReplayedCase] = []
    labels: dict[str, bool] = {}
    for k in range(150):
        address = f"{k} Market St"
        history.append(ReplayedCase(_case(f"F{k}", first, address, k)))
        labels[f"F{k}"] = False
        kind = "DDMMO"[k % 5]
        case_id = f"{kind}{k}"
        history.append(ReplayedCase(_case(case_id, seconds[kind], address, k + 1)))
        if ambiguous:
            labels[case_id] = bool(coin.integers(2))
        else:
            labels[case_id] = kind == "D" or (kind == "M" and k % 2 == 0)
    return history, labels


def _out_of_fold(
    history: list[ReplayedCase], labels: dict[str, bool]
) -> tuple[np.ndarray, np.ndarray]:
    """The other way to the same confidences: for each fold, the settings learnt on the
    other folds' labels alone (learn_settings itself, on those labels), replayed, and
    the proposals made on the fold's cases kept."""
    confidence: list[float] = []
    correct: list[bool] = []
    for held in range(FOLDS):
        others = {c: y for c, y in labels.items() if fold_of(c, FOLDS) != held}
        settings = learn_settings(history, others.get, folds=FOLDS).settings
        for view, proposal in replay(history, DuplicateIndex(settings)):
            if proposal is not None and fold_of(view.case_id, FOLDS) == held:
                confidence.append(proposal.confidence)
                correct.append(labels[view.case_id])
    return np.asarray(confidence), np.asarray(correct)


class TestLearnSettings:
    def test_the_threshold_is_choose_threshold_on_the_out_of_fold_confidences(self) -> None:
        history, labels = _history()
        learnt = learn_settings(history, labels.get, folds=FOLDS)
        confidence, correct = _out_of_fold(history, labels)
        expected = choose_threshold(confidence, correct)
        assert learnt.settings.auto_at == expected.threshold
        assert learnt.threshold == expected
        assert learnt.proposals == len(confidence)
        assert learnt.precision == pytest.approx(correct.mean())
        # The fixture makes the choice a real one: the exact repeats are automatic, the
        # hard calls below them are not (all proposals together miss the target).
        assert learnt.automatic
        assert 0.5 < learnt.settings.auto_at < 1.0
        assert learnt.precision < learnt.target_precision
        assert str(round(learnt.settings.auto_at, 4)) in learnt.describe()

    def test_labels_that_make_everything_ambiguous_leave_nothing_automatic(self) -> None:
        history, labels = _history(ambiguous=True)
        learnt = learn_settings(history, labels.get, folds=FOLDS)
        assert learnt.settings.auto_at == 1.0
        assert not learnt.automatic
        assert "nothing is applied without a person" in learnt.describe()
        index = DuplicateIndex(learnt.settings)
        proposals = [p for _, p in replay(history, index) if p is not None]
        assert all(p.confidence < index.threshold for p in proposals)

    def test_weights_and_service_bias_are_learnt_and_other_settings_kept(self) -> None:
        history, labels = _history()
        base = DuplicateSettings(window=timedelta(days=2), propose_at=0.4)
        settings = learn_settings(history, labels.get, base, folds=FOLDS).settings
        assert settings.window == timedelta(days=2)
        assert settings.propose_at == 0.4
        assert settings.weight_text > 0
        assert settings.weight_text != DuplicateSettings().weight_text
        assert dict(settings.service_bias)

    @pytest.mark.parametrize(
        ("labelled", "folds", "field"),
        [("one kind", 3, "is_duplicate"), ("both kinds", 1, "folds")],
    )
    def test_what_cannot_be_learnt_from_is_refused_naming_the_field(
        self, labelled: str, folds: int, field: str
    ) -> None:
        history, labels = _history()
        known = labels.get if labelled == "both kinds" else (lambda _cid: False)
        with pytest.raises(ValueError, match=field):
            learn_settings(history, known, folds=folds)

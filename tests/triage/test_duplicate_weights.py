from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cogov.triage import CaseView
from cogov.triage.duplicates import (
    DuplicateIndex,
    DuplicateSettings,
    ReplayedCase,
    fit_service_bias,
    fit_signal_weights,
    replay,
)

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def _case(case_id: str, text: str, address: str, hours: float) -> CaseView:
    return CaseView(
        case_id=case_id,
        description=text,
        service_code="street",
        address_key=address,
        created_at=T0 + timedelta(hours=hours),
    )


def _history() -> tuple[list[ReplayedCase], dict[str, bool]]:
    """At every address a first request; then either the same problem again (a
    duplicate) or another problem of the same service at the same place (not one)."""
    history: list[ReplayedCase] = []
    labels: dict[str, bool] = {}
    for k in range(30):
        address = f"{k} Market St"
        history.append(ReplayedCase(_case(f"F{k}", "street light out at the corner", address, k)))
        labels[f"F{k}"] = False
        if k % 2 == 0:
            repeat = _case(f"D{k}", "street light is out at the corner", address, k + 1)
            labels[f"D{k}"] = True
        else:
            repeat = _case(f"O{k}", "graffiti painted over the bus shelter", address, k + 1)
            labels[f"O{k}"] = False
        history.append(ReplayedCase(repeat))
    return history, labels


class TestFitSignalWeights:
    def test_learnt_weights_tell_a_repeat_from_another_problem_at_the_same_place(
        self,
    ) -> None:
        history, labels = _history()
        hand = {c.case_id: p for c, p in replay(history, DuplicateIndex())}
        # The hand-set weights propose every same-place, same-service case.
        assert any(hand[f"O{k}"] is not None for k in range(1, 30, 2))

        settings = fit_signal_weights(history, labels.get)
        assert settings.weight_text > 0
        assert settings.service_bias == ()
        learnt = {c.case_id: p for c, p in replay(history, DuplicateIndex(settings))}
        assert all(learnt[f"D{k}"] is not None for k in range(0, 30, 2))
        assert all(learnt[f"O{k}"] is None for k in range(1, 30, 2))
        # The explanation still lists each signal with its (learnt) contribution.
        proposal = learnt["D0"]
        assert proposal is not None
        assert "word similarity" in proposal.explanation.summary

    def test_cases_left_out_are_not_learnt_from(self) -> None:
        history, labels = _history()
        # Only the first ten addresses are labelled; the rest are held out.
        kept = {cid: label for cid, label in labels.items() if int(cid[1:]) < 10}
        settings = fit_signal_weights(history, kept.get)
        assert settings.weight_text > 0
        # A service bias learnt afterwards sits on top of the learnt weights.
        both = fit_service_bias(history, kept.get, settings)
        assert both.weight_text == settings.weight_text
        assert dict(both.service_bias)

    def test_labels_of_one_kind_only_are_refused(self) -> None:
        history, _ = _history()
        with pytest.raises(ValueError, match="is_duplicate"):
            fit_signal_weights(history, lambda _cid: False)

    def test_other_settings_are_kept(self) -> None:
        history, labels = _history()
        settings = fit_signal_weights(
            history, labels.get, DuplicateSettings(window=timedelta(days=2), auto_at=0.99)
        )
        assert settings.window == timedelta(days=2)
        assert settings.auto_at == 0.99

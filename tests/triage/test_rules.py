from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cogov.triage.rules import (
    auto_metrics,
    choose_threshold,
    fit_temperature,
    softmax,
    wilson_lower,
)


class TestChooseThreshold:
    def test_picks_the_lowest_cut_that_keeps_precision(self) -> None:
        # 100 right answers at high confidence, then mistakes mixed in below 0.5.
        confidence = np.concatenate([np.linspace(0.99, 0.6, 100), np.linspace(0.5, 0.1, 100)])
        correct = np.concatenate([np.ones(100, bool), np.arange(100) % 2 == 0])
        choice = choose_threshold(confidence, correct, target_precision=0.97, z=0)
        # A few mixed cases fit under the 3 % error budget, no more.
        assert 0.45 <= choice.threshold <= 0.6
        assert choice.precision >= 0.97
        assert choice.share >= 0.5

    def test_nothing_is_automatic_when_the_target_is_out_of_reach(self) -> None:
        confidence = np.linspace(0.9, 0.1, 50)
        correct = np.arange(50) % 3 == 0
        choice = choose_threshold(confidence, correct)
        assert choice.threshold == 1.0
        assert choice.share == 0.0

    def test_the_wilson_bound_asks_for_more_evidence_than_the_plain_rate(self) -> None:
        rng = np.random.default_rng(1)
        confidence = rng.random(400)
        correct = rng.random(400) < 0.6 + 0.4 * confidence
        plain = choose_threshold(confidence, correct, z=0)
        bounded = choose_threshold(confidence, correct, z=1.0)
        assert bounded.threshold >= plain.threshold

    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(
            st.tuples(st.floats(0, 1, allow_nan=False), st.booleans()), min_size=1, max_size=300
        ),
        st.floats(0.5, 0.99),
    )
    def test_precision_at_or_above_the_threshold_meets_the_target(
        self, rows: list[tuple[float, bool]], target: float
    ) -> None:
        confidence = np.array([c for c, _ in rows])
        correct = np.array([k for _, k in rows])
        choice = choose_threshold(confidence, correct, target_precision=target, min_support=1)
        share, precision = auto_metrics(confidence, correct, choice.threshold)
        if choice.support:
            assert precision >= target
            assert (
                wilson_lower(
                    int(correct[confidence >= choice.threshold].sum()), choice.support, 1.0
                )
                >= target - 1e-12
            )
            assert share == choice.share
        else:
            assert choice.threshold == 1.0


class TestCalibration:
    def test_temperature_recovers_a_known_scale(self) -> None:
        rng = np.random.default_rng(0)
        scores = rng.normal(size=(4000, 4))
        probabilities = softmax(scores, 3.0)
        truth = np.array([rng.choice(4, p=p) for p in probabilities])
        assert abs(fit_temperature(scores, truth) - 3.0) < 0.4

    def test_softmax_rows_sum_to_one(self) -> None:
        probabilities = softmax(np.array([[1000.0, 0.0], [0.0, 0.0]]), 1.0)
        assert np.allclose(probabilities.sum(axis=1), 1.0)
        assert probabilities[1, 0] == 0.5

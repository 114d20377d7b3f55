"""The shortcut bootstrap equals the row-resampling bootstrap it replaces."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cogov.audit.bootstrap import percentile_interval, quantile_draws, rate_draws


class TestRateDraws:
    def test_matches_resampling_rows(self) -> None:
        rng = np.random.default_rng(1)
        values = rng.random(400) < 0.3
        explicit = np.array([rng.choice(values, values.size).mean() for _ in range(4000)])
        shortcut = rate_draws(np.array([values.sum()]), np.array([values.size]), 4000, rng)[0]
        assert abs(explicit.mean() - shortcut.mean()) < 0.004
        assert abs(explicit.std() - shortcut.std()) < 0.002

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=8))
    def test_draws_are_rates_and_empty_groups_are_nan(self, pairs: list[tuple[int, int]]) -> None:
        trials = np.array([max(a, b) for a, b in pairs])
        successes = np.array([min(a, b) for a, b in pairs])
        draws = rate_draws(successes, trials, 50, np.random.default_rng(0))
        assert draws.shape == (len(pairs), 50)
        for row, n in zip(draws, trials, strict=True):
            if n == 0:
                assert np.isnan(row).all()
            else:
                assert ((row >= 0) & (row <= 1)).all()


class TestQuantileDraws:
    def test_matches_resampling_rows(self) -> None:
        # Compared by rank in the sample: values between neighbours would only add noise.
        rng = np.random.default_rng(2)
        values = np.sort(rng.gamma(2.0, 10.0, 300))
        for q in (0.5, 0.9):
            rank = int(np.ceil(q * values.size))
            explicit = np.array(
                [
                    np.searchsorted(values, np.sort(rng.choice(values, values.size))[rank - 1])
                    for _ in range(6000)
                ]
            )
            shortcut = np.searchsorted(values, quantile_draws(values, q, 6000, rng))
            assert abs(explicit.mean() - shortcut.mean()) < 0.5
            assert abs(explicit.std() - shortcut.std()) < 0.4
            for p in (5, 50, 95):
                assert abs(np.percentile(explicit, p) - np.percentile(shortcut, p)) <= 1

    @settings(max_examples=60, deadline=None)
    @given(
        st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=300),
        st.sampled_from([0.1, 0.5, 0.9, 0.99]),
    )
    def test_draws_are_values_of_the_sample(self, values: list[float], q: float) -> None:
        ordered = np.sort(np.array(values))
        draws = quantile_draws(ordered, q, 100, np.random.default_rng(0))
        assert np.isin(draws, ordered).all()

    def test_empty_group_gives_nan(self) -> None:
        assert np.isnan(quantile_draws(np.empty(0), 0.5, 10, np.random.default_rng(0))).all()


def test_percentile_interval_ignores_nan_rows_quietly() -> None:
    draws = np.vstack([np.full(10, np.nan), np.arange(10.0)])
    low, high = percentile_interval(draws)
    assert np.isnan(low[0])
    assert np.isnan(high[0])
    assert low[1] < high[1]

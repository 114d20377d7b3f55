"""Bootstrap confidence intervals without a loop over rows.

Resampling is stratified by group (each group keeps its size), the usual design
for comparing groups. Within a group, resampling n cases with replacement
(multinomial weights) touches a rate only through the number of successes, which
is then Binomial(n, k/n): drawing that number directly is the same bootstrap,
exactly, at the cost of one number per replicate. For a quantile, the bootstrap
distribution of the r-th order statistic is known in closed form
(P(X*_(r) <= x_(j)) = P(Binomial(n, j/n) >= r)), so replicates are drawn by
inverting that distribution - again the same bootstrap, with no resampled rows.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.stats import binom

FloatArray = NDArray[np.float64]


def rate_draws(
    successes: NDArray[np.int64],
    trials: NDArray[np.int64],
    replicates: int,
    rng: np.random.Generator,
) -> FloatArray:
    """Bootstrap replicates of each group's rate: shape (groups, replicates);
    NaN rows for groups with no trials."""
    trials = np.asarray(trials, dtype=np.int64)
    successes = np.asarray(successes, dtype=np.int64)
    safe_trials = np.maximum(trials, 1)
    p = successes / safe_trials
    draws = rng.binomial(safe_trials[:, None], p[:, None], size=(trials.size, replicates))
    out = draws / safe_trials[:, None]
    out[trials == 0] = np.nan
    return out.astype(np.float64)


def quantile_draws(
    sorted_values: FloatArray, q: float, replicates: int, rng: np.random.Generator
) -> FloatArray:
    """Bootstrap replicates of the q-quantile of one group's (sorted) values."""
    n = sorted_values.size
    if n == 0:
        return np.full(replicates, np.nan)
    if n == 1:
        return np.full(replicates, float(sorted_values[0]))
    rank = min(n, max(1, math.ceil(q * n)))
    # The order statistic's distribution is concentrated within a few standard
    # deviations of its rank; outside this window its probability is < 1e-15.
    spread = math.ceil(9 * math.sqrt(n * q * (1 - q))) + 3
    low, high = max(1, rank - spread), min(n, rank + spread)
    positions = np.arange(low, high + 1)
    cdf = binom.sf(rank - 1, n, positions / n)
    cdf[-1] = 1.0
    picks = np.searchsorted(cdf, rng.random(replicates), side="left")
    return sorted_values[positions[np.minimum(picks, positions.size - 1)] - 1].astype(np.float64)


def percentile_interval(draws: FloatArray, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Percentile interval along the last axis, ignoring NaN replicates (an
    all-NaN row, a group with no data, gives NaN)."""
    tail = (1 - level) / 2 * 100
    if draws.ndim == 1:
        draws = draws[None, :]
    low = np.full(draws.shape[0], np.nan)
    high = np.full(draws.shape[0], np.nan)
    gaps = np.isnan(draws).any(axis=1)
    whole = ~gaps
    if whole.any():  # the common case, in one vectorised call
        low[whole], high[whole] = np.percentile(draws[whole], [tail, 100 - tail], axis=1)
    for row in np.flatnonzero(gaps):
        kept = draws[row][~np.isnan(draws[row])]
        if kept.size:
            low[row], high[row] = np.percentile(kept, [tail, 100 - tail])
    return low, high

"""Pure numeric rules of the triage engine: calibration and the automation threshold.

Plain numpy values in and out, so they can be property-tested without a model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar

# A confidence is an estimate, never certainty: capping it keeps a threshold of
# 1.0 ("nothing is automatic") strictly out of reach.
MAX_CONFIDENCE = 0.9999
# What an automatic cut must reach, for every engine that picks one from its own
# out-of-fold confidences (the classifier, the duplicate finder): the precision, and
# the z of the one-sided Wilson lower bound it is held to (see choose_threshold).
TARGET_PRECISION = 0.97
THRESHOLD_Z = 1.0


def softmax(scores: NDArray[np.floating], scale: float) -> NDArray[np.float64]:
    """Row-wise softmax of ``scores * scale``."""
    scaled = np.asarray(scores, dtype=np.float64) * scale
    scaled -= scaled.max(axis=1, keepdims=True)
    np.exp(scaled, out=scaled)
    scaled /= scaled.sum(axis=1, keepdims=True)
    return scaled


def fit_temperature(scores: NDArray[np.floating], truth: NDArray[np.intp]) -> float:
    """The scale ``a`` for which softmax(a * scores) best fits held-out truth (least log loss).

    Temperature scaling: one parameter, so it cannot overfit a small history, and it
    keeps the ranking of the classes (the prediction does not change, only its confidence).
    """
    rows = np.arange(len(truth))

    def log_loss(log_scale: float) -> float:
        probs = softmax(scores, math.exp(log_scale))
        return float(-np.log(np.clip(probs[rows, truth], 1e-12, 1.0)).mean())

    result = minimize_scalar(log_loss, bounds=(math.log(1e-2), math.log(1e3)), method="bounded")
    return float(math.exp(result.x))


@dataclass(frozen=True, slots=True)
class ThresholdChoice:
    threshold: float  # confidence at or above which a proposal may be automatic
    precision: float  # precision of the held-out cases at or above it
    share: float  # share of held-out cases at or above it
    support: int  # how many held-out cases that is


def choose_threshold(
    confidence: NDArray[np.floating],
    correct: NDArray[np.bool_],
    *,
    target_precision: float = TARGET_PRECISION,
    min_support: int = 10,
    z: float = THRESHOLD_Z,
) -> ThresholdChoice:
    """The lowest confidence at which the held-out cases at or above it are right at
    least ``target_precision`` of the time, with confidence: the Wilson lower bound
    (``z`` = 1.0: one standard error, ~84 % one-sided) of their precision must reach the
    target, and there must be at least ``min_support`` of them. ``z=0`` uses the plain
    precision.

    Why the bound: precision measured on a few hundred held-out cases is noisy, and a
    threshold that only just reaches 0.97 on them falls below it on new cases.

    Ties are kept together (a threshold admits every case with that confidence). When
    no threshold reaches the target, the threshold is 1.0: nothing is automatic.
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if confidence.shape != correct.shape:
        raise ValueError("confidence and correct must have the same length")
    n = len(confidence)
    if n == 0:
        return ThresholdChoice(1.0, 0.0, 0.0, 0)
    order = np.argsort(-confidence, kind="stable")
    sorted_conf = confidence[order]
    hits = np.cumsum(correct[order], dtype=np.int64)
    counts = np.arange(1, n + 1)
    # Only positions where the next case has a strictly lower confidence are valid cuts.
    is_cut = np.append(sorted_conf[1:] < sorted_conf[:-1], True)
    ok = is_cut & (counts >= min_support) & (wilson_lower(hits, counts, z) >= target_precision)
    if not ok.any():
        return ThresholdChoice(1.0, 0.0, 0.0, 0)
    last = int(np.flatnonzero(ok)[-1])
    return ThresholdChoice(
        threshold=float(sorted_conf[last]),
        precision=float(hits[last] / counts[last]),
        share=float(counts[last] / n),
        support=int(counts[last]),
    )


def auto_metrics(
    confidence: NDArray[np.floating], correct: NDArray[np.bool_], threshold: float
) -> tuple[float, float]:
    """(share of cases at or above ``threshold``, precision on them; 0 when none)."""
    confidence = np.asarray(confidence, dtype=np.float64)
    above = confidence >= threshold
    share = float(above.mean()) if len(above) else 0.0
    precision = float(np.asarray(correct)[above].mean()) if above.any() else 0.0
    return share, precision


def wilson_lower(
    hits: NDArray[np.integer] | int, counts: NDArray[np.integer] | int, z: float
) -> NDArray[np.float64]:
    """One-sided Wilson score lower bound of a proportion hits / counts."""
    n = np.asarray(counts, dtype=np.float64)
    p = np.asarray(hits, dtype=np.float64) / np.maximum(n, 1.0)
    if z == 0:
        return p
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return np.asarray((centre - margin) / (1 + z2 / n), dtype=np.float64)

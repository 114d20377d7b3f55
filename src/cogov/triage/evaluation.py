"""Measuring an engine on labelled cases: the numbers `cogov triage eval` and the
benchmark print."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import f1_score

from cogov.triage.classifier import TrainedEngine
from cogov.triage.rules import auto_metrics


@dataclass(frozen=True, slots=True)
class EvalReport:
    n: int
    accuracy: float
    macro_f1: float
    threshold: float
    auto_share: float  # share of cases at or above the stored threshold
    auto_precision: float  # accuracy on those cases
    predictions_per_s: float
    unseen_labels: int  # cases whose true label the model never saw in training

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def evaluate(engine: TrainedEngine, texts: Sequence[str], labels: Sequence[str]) -> EvalReport:
    """Predict ``texts`` in one batch and compare with ``labels``. The speed is that
    one batch's, cold (the engine's first use included), not a steady-state rate."""
    started = time.perf_counter()
    predictions = engine.predict_many(texts)
    elapsed = time.perf_counter() - started
    truth = np.asarray([str(label) for label in labels], dtype=object)
    predicted = np.asarray(predictions.labels, dtype=object)
    correct = predicted == truth
    share, precision = auto_metrics(predictions.confidence, correct, engine.threshold)
    known = set(engine.classes)
    return EvalReport(
        n=len(texts),
        accuracy=float(correct.mean()) if len(texts) else 0.0,
        macro_f1=float(f1_score(truth, predicted, average="macro", zero_division=0))
        if len(texts)
        else 0.0,
        threshold=engine.threshold,
        auto_share=share,
        auto_precision=precision,
        predictions_per_s=len(texts) / elapsed if elapsed > 0 else float("inf"),
        unseen_labels=int(sum(1 for label in truth if label not in known)),
    )

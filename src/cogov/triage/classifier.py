"""The default engine: a calibrated linear model over word and character n-grams,
trained from an agency's own labelled history, in any language.

Why this shape:
- character n-grams (1–4, within words) read Chinese, which has no spaces between
  words, as well as misspelt English; words add whole-word evidence; both are hashed
  and counted for a whole batch at once with numpy (``features.HashingTfidf``);
- a linear model's score is a sum of per-n-gram contributions, so the explanation
  (which words or characters drove the choice) is exact, not a post-hoc guess;
- its confidence is temperature-scaled on cross-validated scores, and the threshold
  for automatic application is the lowest one at which cross-validated precision
  reaches the target (0.97 by default); both are stored with the model.
"""

from __future__ import annotations

import time
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from cogov import __version__ as cogov_version
from cogov.triage.errors import ModelFileError, TriageInputError
from cogov.triage.features import HashingTfidf
from cogov.triage.modelfile import (
    MODEL_FILE,
    dump_state,
    load_state,
    read_model_dir,
    sha256_bytes,
    write_model_dir,
)
from cogov.triage.naming import merge_overlaps, readable_names
from cogov.triage.protocol import (
    ActionKind,
    CaseView,
    EngineIdentity,
    Evidence,
    EvidenceKind,
    Explanation,
    Proposal,
)
from cogov.triage.rules import (
    MAX_CONFIDENCE,
    TARGET_PRECISION,
    THRESHOLD_Z,
    ThresholdChoice,
    choose_threshold,
    fit_temperature,
    softmax,
)
from cogov.triage.text import (
    MAX_TEXT_CHARS,
    case_text,
    check_text,
)

ENGINE_NAME = "cogov-linear"
# The version of the code that turns a model into proposals and explanations (the model
# file has its own hash). 2: explanations name only tokens reaching _TOKEN_FLOOR.
ENGINE_VERSION = "2"
STATE_SCHEMA = 2  # 2: hashed features (features.HashingTfidf); 1 held sklearn vectorizers

# Progress reports for long steps: (what, done, total). The CLI draws Rich bars.
Progress = Callable[[str, int, int], None]


def _no_progress(_what: str, _done: int, _total: int) -> None:
    return None


# Class weightings: "none"; "balanced" (each class counts as much as any other, which
# lifts rare classes and macro-F1 when they are distinct); "tempered" (the fourth root
# of balanced: lifts rare classes without drowning the common ones when the rare ones
# are noisy, e.g. many tiny work queues).
CLASS_WEIGHTINGS = {"none": 0.0, "tempered": 0.25, "balanced": 1.0}


@dataclass(frozen=True, slots=True)
class TrainingOptions:
    """How the default engine is trained. The defaults suit 311 / 12345 histories."""

    word_ngrams: tuple[int, int] = (1, 1)
    char_ngrams: tuple[int, int] = (1, 4)
    # Candidate regularisation strengths and class weightings, chosen by CV macro-F1.
    c_grid: tuple[float, ...] = (0.3, 1.0)
    class_weights: tuple[str, ...] = ("tempered", "balanced")
    # Up to this many rows the grid is compared by k-fold CV, beyond by one hold-out.
    grid_rows: int = 3000
    folds: int = 4
    target_precision: float = TARGET_PRECISION
    # How sure the threshold must be of reaching the target: the z of the one-sided
    # Wilson lower bound on cross-validated precision (1.0: one standard error, about
    # 84 % one-sided; 1.645: 95 %, which leaves a history of ~1,000 rows with nothing
    # automatic; 0: the plain rate, which falls below the target on new cases).
    threshold_z: float = THRESHOLD_Z
    # Past cases kept for "most similar cases" (a random sample beyond this many).
    max_similar_index: int = 50_000
    max_text_chars: int = MAX_TEXT_CHARS
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.class_weights) - set(CLASS_WEIGHTINGS))
        if unknown or not self.class_weights:
            raise TriageInputError(
                "class_weights", f"unknown {unknown}; choose from {sorted(CLASS_WEIGHTINGS)}"
            )
        if not self.c_grid or any(c <= 0 for c in self.c_grid):
            raise TriageInputError("c_grid", "needs at least one positive C")
        if not 0.5 <= self.target_precision < 1.0:
            raise TriageInputError("target_precision", "must be in [0.5, 1)")
        if self.folds < 2:
            raise TriageInputError("folds", "must be at least 2")


@dataclass(frozen=True, slots=True)
class CrossValidation:
    """What cross-validation on the training history measured for the chosen model."""

    folds: int
    c: float
    class_weight: str
    accuracy: float
    macro_f1: float
    threshold: ThresholdChoice
    temperature: float
    grid: tuple[tuple[float, str, float], ...] = ()  # (C, class weight, macro-F1) tried


@dataclass(frozen=True, slots=True)
class Predictions:
    """A batch of predictions: the label, its calibrated confidence, and every class's."""

    labels: list[str]
    confidence: NDArray[np.float64]
    probabilities: NDArray[np.float64]
    classes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SimilarCase:
    case_id: str
    label: str
    similarity: float


@dataclass(slots=True)
class _Model:
    vectorizer: HashingTfidf
    coef: NDArray[np.float32]  # (classes, features)
    intercept: NDArray[np.float32]  # (classes,)
    temperature: float
    classes: tuple[str, ...]
    index: sp.csr_matrix  # L2-normalised training rows for similar-case lookup
    index_ids: list[str]
    index_labels: list[str]
    index_by_feature: sp.csr_matrix | None = field(default=None)  # index.T, on first use


def _vectorizer(options: TrainingOptions) -> HashingTfidf:
    try:
        return HashingTfidf(char_range=options.char_ngrams, word_range=options.word_ngrams)
    except ValueError as exc:
        raise TriageInputError("options", str(exc)) from None


def _documents(texts: Sequence[str]) -> list[str]:
    """What the featuriser reads: :func:`normalise` without its white-space clean-up,
    which changes no feature (words split on any white space) and costs the most."""
    return [unicodedata.normalize("NFKC", text).casefold() for text in texts]


@dataclass(frozen=True, slots=True)
class _Batch:
    """Texts vectorised together: their rows, class scores, most similar past cases,
    and the words or characters that drove each row's most likely class."""

    matrix: sp.csr_matrix
    scores: NDArray[np.float64]
    similar: list[list[SimilarCase]]
    explained: NDArray[np.intp]  # the class each row's tokens were ranked for
    tokens: list[list[tuple[str, float]]]


# Tokens an explanation names at most.
_TOKENS = 8
# ... and only those whose contribution reaches this share of the strongest one's. The
# rest are honest but minor: on NYC 311, CFPB narratives and a Chinese hotline they were
# mostly function words ("the", "to", "for"), particles (了, 地, 上) and fragments
# around punctuation ("e/r", "t/si"), listed beside the words that decided. A quarter of
# the strongest drops every fragment and 49-64 % of the function words (against 27-30 %
# of the other words, the weakest ones), while what stays carries a median 86-93 % of
# the listed weight (docs/triage.md, "Explanations"). A share of the strongest, not of
# the total: a long narrative spreads its total over hundreds of words, so the smallest
# set covering 80 % of it would take 17 words at the median. Language-neutral: no
# stop-word list; a function word the model leans on as hard as a quarter of the
# strongest is still named, since hiding it would misstate the model. The strongest is
# always named.
_TOKEN_FLOOR = 0.25


def _strongest(tokens: list[tuple[str, float]], floor: float) -> list[tuple[str, float]]:
    """``tokens`` (strongest first) that reach ``floor`` times the strongest's weight."""
    if not tokens:
        return tokens
    cut = floor * tokens[0][1]
    return [token for token in tokens if token[1] >= cut]


def _class_weight(truth: NDArray[np.intp], weighting: str) -> dict[int, float] | None:
    power = CLASS_WEIGHTINGS[weighting]
    if power == 0.0:
        return None
    counts = np.bincount(truth)
    present = np.flatnonzero(counts)
    base = len(truth) / (len(present) * counts[present])
    return {int(k): float(w) for k, w in zip(present, base**power, strict=True)}


def _svc(c: float, weighting: str, seed: int, truth: NDArray[np.intp]) -> LinearSVC:
    return LinearSVC(
        C=c, class_weight=_class_weight(truth, weighting), random_state=seed, max_iter=5000
    )


def _scores(
    matrix: sp.csr_matrix, coef: NDArray[np.float32], intercept: NDArray[np.float32]
) -> NDArray[np.float64]:
    scores = np.asarray(matrix @ coef.T, dtype=np.float64) + intercept
    if coef.shape[0] == 1:  # binary LinearSVC keeps one row: score of class 1 vs class 0
        scores = np.hstack([-scores, scores])
    return scores


def _binary_safe(
    coef: NDArray[np.float32], intercept: NDArray[np.float32]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """One row per class, also for two classes (so explanations read the same way)."""
    if coef.shape[0] == 1:
        return np.vstack([-coef, coef]).astype(np.float32), np.array(
            [-intercept[0], intercept[0]], dtype=np.float32
        )
    return coef.astype(np.float32), intercept.astype(np.float32)


def _check_training_set(texts: Sequence[str], labels: Sequence[str]) -> None:
    if len(texts) != len(labels):
        raise TriageInputError("labels", f"{len(labels)} labels for {len(texts)} texts")
    if not texts:
        raise TriageInputError("data", "has no rows to learn from")
    for row, text in enumerate(texts):
        if not text or not text.strip():
            raise TriageInputError(f"text (row {row + 1})", "is empty")
    counts = Counter(labels)
    if "" in counts:
        raise TriageInputError("label", "has empty values; drop or fill those rows")
    if len(counts) < 2:
        only = next(iter(counts))
        raise TriageInputError(
            "label", f"has one class only ({only!r}); an engine needs at least two to choose"
        )
    # Cross-validation holds every row out once; the model trained without it must
    # still see two classes (sklearn raised a ValueError deep inside otherwise).
    if max(counts.values()) < 2:
        raise TriageInputError(
            "label", "has one row per class; cross-validation needs two rows of some class"
        )
    if len(counts) == 2 and min(counts.values()) < 2:
        single = min(counts, key=lambda label: counts[label])
        raise TriageInputError(
            "label",
            f"class {single!r} has a single row; with two classes, cross-validation "
            "needs two rows of each",
        )


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    case_ids: Sequence[str] | None = None,
    action: ActionKind = ActionKind.ROUTE,
    text_columns: Sequence[str] = (),
    label_column: str = "label",
    options: TrainingOptions | None = None,
    progress: Progress | None = None,
) -> TrainedEngine:
    """Learn an engine from a labelled history (any language, any set of labels).

    ``case_ids`` name the rows (shown as similar past cases); row numbers when absent.
    """
    options = options or TrainingOptions()
    report = progress or _no_progress
    labels = [str(label) for label in labels]
    texts = [str(text)[: options.max_text_chars] for text in texts]
    _check_training_set(texts, labels)
    ids = (
        [str(i) for i in case_ids]
        if case_ids is not None
        else [str(i + 1) for i in range(len(texts))]
    )
    if len(ids) != len(texts):
        raise TriageInputError("case_ids", f"{len(ids)} ids for {len(texts)} texts")

    started = time.perf_counter()
    report("features", 0, 1)
    vectorizer = _vectorizer(options)
    matrix = vectorizer.fit_transform(_documents(texts))
    report("features", 1, 1)

    classes = tuple(sorted(set(labels)))
    class_index = {label: i for i, label in enumerate(classes)}
    truth = np.array([class_index[label] for label in labels], dtype=np.intp)
    cv = _cross_validate(matrix, truth, len(classes), options, report)

    report("final model", 0, 1)
    final = _svc(cv.c, cv.class_weight, options.seed, truth).fit(matrix, truth)
    coef, intercept = _binary_safe(final.coef_, final.intercept_)
    report("final model", 1, 1)

    index_rows = np.arange(len(texts))
    if len(index_rows) > options.max_similar_index:
        rng = np.random.default_rng(options.seed)
        index_rows = np.sort(rng.choice(index_rows, options.max_similar_index, replace=False))
    index = _l2_rows(matrix[index_rows])

    model = _Model(
        vectorizer=vectorizer,
        coef=coef,
        intercept=intercept,
        temperature=cv.temperature,
        classes=classes,
        index=index,
        index_ids=[ids[i] for i in index_rows],
        index_labels=[labels[i] for i in index_rows],
    )
    metadata = {
        "engine": ENGINE_NAME,
        "engine_version": ENGINE_VERSION,
        "cogov_version": cogov_version,
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "training_seconds": round(time.perf_counter() - started, 3),
        "action": str(action),
        "text_columns": list(text_columns),
        "label_column": label_column,
        "rows": len(texts),
        "classes": list(classes),
        "class_counts": dict(sorted(Counter(labels).items())),
        "threshold": cv.threshold.threshold,
        "target_precision": options.target_precision,
        "threshold_z": options.threshold_z,
        "max_text_chars": options.max_text_chars,
        "cross_validation": {
            "folds": cv.folds,
            "C": cv.c,
            "class_weight": cv.class_weight,
            "accuracy": round(cv.accuracy, 6),
            "macro_f1": round(cv.macro_f1, 6),
            "temperature": round(cv.temperature, 6),
            "auto_share": round(cv.threshold.share, 6),
            "auto_precision": round(cv.threshold.precision, 6),
            "auto_support": cv.threshold.support,
            "grid": [{"C": c, "class_weight": w, "macro_f1": round(f1, 6)} for c, w, f1 in cv.grid],
        },
    }
    return TrainedEngine(model, metadata)


def _l2_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    norms = np.sqrt(np.bincount(rows, weights=matrix.data * matrix.data, minlength=matrix.shape[0]))
    norms[norms == 0] = 1.0
    data = (matrix.data / norms[rows]).astype(np.float32)
    return sp.csr_matrix((data, matrix.indices, matrix.indptr), shape=matrix.shape)


def _folds(
    truth: NDArray[np.intp], wanted: int, seed: int
) -> list[tuple[NDArray[np.intp], NDArray[np.intp]]]:
    """Stratified folds; classes rarer than the fold count are spread as far as they go."""
    largest = int(np.bincount(truth).max())
    n_folds = max(2, min(wanted, largest))
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # It warns (not fails) on classes with fewer members than folds: expected here.
        warnings.simplefilter("ignore", UserWarning)
        return list(splitter.split(truth, truth))


def _out_of_fold(
    matrix: sp.csr_matrix,
    truth: NDArray[np.intp],
    n_classes: int,
    c: float,
    weight: str,
    options: TrainingOptions,
    on_fold: Callable[[], None],
    n_folds: int,
) -> NDArray[np.float64]:
    """Every row's class scores from a model that did not see it."""
    scores = np.zeros((len(truth), n_classes), dtype=np.float64)
    for train_rows, test_rows in _folds(truth, n_folds, options.seed):
        with warnings.catch_warnings():
            # StratifiedKFold and liblinear warn about tiny classes; both are expected.
            warnings.simplefilter("ignore")
            model = _svc(c, weight, options.seed, truth[train_rows]).fit(
                matrix[train_rows], truth[train_rows]
            )
        # A class absent from this fold's training rows can never be predicted.
        fold_scores = np.full((len(test_rows), n_classes), -1e3)
        coef, intercept = _binary_safe(model.coef_, model.intercept_)
        fold_scores[:, model.classes_] = _scores(matrix[test_rows], coef, intercept)
        scores[test_rows] = fold_scores
        on_fold()
    return scores


def _holdout(truth: NDArray[np.intp], seed: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """One stratified 75/25 split; classes with one row stay in training."""
    rng = np.random.default_rng(seed)
    held: list[NDArray[np.intp]] = []
    for label in np.unique(truth):
        rows = np.flatnonzero(truth == label)
        if len(rows) >= 2:
            held.append(rng.choice(rows, max(1, round(len(rows) * 0.25)), replace=False))
    test = np.sort(np.concatenate(held)) if held else np.array([], dtype=np.intp)
    train = np.setdiff1d(np.arange(len(truth)), test)
    return train, test


def _cross_validate(
    matrix: sp.csr_matrix,
    truth: NDArray[np.intp],
    n_classes: int,
    options: TrainingOptions,
    report: Progress,
) -> CrossValidation:
    """Pick C and the class weighting by macro-F1, then calibrate and pick the threshold
    on the chosen model's out-of-fold scores over every row.

    A small history (up to ``grid_rows``) compares the candidates by k-fold CV; a large
    one by a single stratified hold-out, so it trains in seconds rather than minutes.
    """
    small = len(truth) <= options.grid_rows
    # A large history compares the class weightings at the first C only: every extra
    # fit of a many-class model costs seconds, and C matters least when data is plenty.
    grid = [(c, w) for w in options.class_weights for c in options.c_grid[: None if small else 1]]
    n_folds = len(_folds(truth, options.folds if small else 3, options.seed))
    searching = len(grid) > 1
    total = (len(grid) * (n_folds if small else 1) if searching else 0) + (
        0 if small and searching else n_folds
    )
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        report("cross-validation", done, total)

    tried: list[tuple[float, str, float]] = []
    c, weight = grid[0]
    scores: NDArray[np.float64] | None = None
    if searching:
        best_f1 = -1.0
        train_rows, test_rows = _holdout(truth, options.seed)
        for c_try, weight_try in grid:
            if small:
                trial = _out_of_fold(
                    matrix, truth, n_classes, c_try, weight_try, options, step, n_folds
                )
                f1 = float(f1_score(truth, trial.argmax(axis=1), average="macro"))
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = _svc(c_try, weight_try, options.seed, truth[train_rows]).fit(
                        matrix[train_rows], truth[train_rows]
                    )
                step()
                predicted_rows = model.predict(matrix[test_rows])
                f1 = float(f1_score(truth[test_rows], predicted_rows, average="macro"))
                trial = None
            tried.append((c_try, weight_try, f1))
            if f1 > best_f1 + 1e-9:
                best_f1, c, weight, scores = f1, c_try, weight_try, trial
    if scores is None:
        scores = _out_of_fold(matrix, truth, n_classes, c, weight, options, step, n_folds)
    predicted = scores.argmax(axis=1)
    temperature = fit_temperature(scores, truth)
    confidence = np.minimum(softmax(scores, temperature).max(axis=1), MAX_CONFIDENCE)
    threshold = choose_threshold(
        confidence,
        predicted == truth,
        target_precision=options.target_precision,
        z=options.threshold_z,
    )
    return CrossValidation(
        folds=n_folds,
        c=c,
        class_weight=weight,
        accuracy=float((predicted == truth).mean()),
        macro_f1=float(f1_score(truth, predicted, average="macro")),
        threshold=threshold,
        temperature=temperature,
        grid=tuple(tried),
    )


class TrainedEngine:
    """A trained default engine; implements :class:`cogov.triage.protocol.TriageEngine`."""

    def __init__(self, model: _Model, metadata: dict[str, Any]) -> None:
        self._model = model
        self.metadata = metadata
        self._state_bytes: bytes | None = None
        self._identity: EngineIdentity | None = None
        # The texts announced by prepare(), vectorised in one pass, and where each is.
        self._prepared: dict[str, int] = {}
        self._prepared_batch: _Batch | None = None

    # -- identity -------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        model = self._model
        return {
            "schema": STATE_SCHEMA,
            "featuriser": model.vectorizer.state(),
            "coef": model.coef,
            "intercept": model.intercept,
            "temperature": float(model.temperature),
            "classes": list(model.classes),
            "index": model.index,
            "index_ids": list(model.index_ids),
            "index_labels": list(model.index_labels),
            "metadata": self.metadata,
        }

    def model_bytes(self) -> bytes:
        """The exact bytes of ``model.skops`` (what the model hash is computed over)."""
        if self._state_bytes is None:
            self._state_bytes = dump_state(self._state())
        return self._state_bytes

    @property
    def identity(self) -> EngineIdentity:
        if self._identity is None:
            self._identity = EngineIdentity(
                name=ENGINE_NAME,
                version=ENGINE_VERSION,
                model_hash=sha256_bytes(self.model_bytes()),
            )
        return self._identity

    @property
    def threshold(self) -> float:
        return float(self.metadata["threshold"])

    @property
    def action(self) -> ActionKind:
        return ActionKind(self.metadata["action"])

    @property
    def classes(self) -> tuple[str, ...]:
        return self._model.classes

    @property
    def text_columns(self) -> tuple[str, ...]:
        return tuple(self.metadata.get("text_columns", ()))

    # -- prediction -----------------------------------------------------------------
    def _matrix(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self._model.vectorizer.transform(_documents(texts))

    def _batch(self, texts: Sequence[str]) -> _Batch:
        """Rows, class scores, similar past cases and the tokens behind each row's most
        likely class for ``texts``, all in one pass."""
        documents = _documents(texts)
        model = self._model
        matrix = model.vectorizer.transform(documents)
        scores = _scores(matrix, model.coef, model.intercept)
        best = softmax(scores, model.temperature).argmax(axis=1)
        tokens = self._tokens(documents, matrix, best, limit=_TOKENS)
        return _Batch(matrix, scores, self._similar(matrix, limit=3), best, tokens)

    def prepare(self, cases: Sequence[CaseView]) -> None:
        """A hint that these cases come next (e.g. a pipeline batch): their texts are
        vectorised, scored, compared with past cases and their tokens named in one
        pass, which is many times cheaper than one at a time. Proposals do not change;
        the hint only lasts until the next one."""
        texts = list(
            dict.fromkeys(
                case_text(case.description, case.extra_text, self.text_columns) for case in cases
            )
        )
        self._prepared, self._prepared_batch = {}, None
        if texts:
            self._prepared_batch = self._batch(texts)
            self._prepared = {text: i for i, text in enumerate(texts)}

    def _one(self, text: str) -> tuple[_Batch, int]:
        """The batch holding ``text`` and its row there (prepared, or computed alone)."""
        at = self._prepared.get(text)
        batch = self._prepared_batch
        if at is None or batch is None:
            return self._batch([text]), 0
        return batch, at

    def predict_many(self, texts: Sequence[str]) -> Predictions:
        """Fast batch prediction (no explanations): for evaluation and benchmarks.

        Texts longer than the model's limit are read up to the limit; empty texts get
        the most frequent class at zero confidence (they never pass the threshold).
        """
        limit = int(self.metadata.get("max_text_chars", MAX_TEXT_CHARS))
        matrix = self._matrix([text[:limit] for text in texts])
        model = self._model
        probabilities = softmax(_scores(matrix, model.coef, model.intercept), model.temperature)
        empty = np.asarray(matrix.getnnz(axis=1) == 0)
        best = probabilities.argmax(axis=1)
        confidence = np.minimum(probabilities.max(axis=1), MAX_CONFIDENCE)
        confidence[empty] = 0.0
        return Predictions(
            labels=[model.classes[i] for i in best],
            confidence=confidence,
            probabilities=probabilities,
            classes=model.classes,
        )

    def top_contributions(
        self,
        text: str,
        row: sp.csr_matrix,
        class_index: int,
        *,
        limit: int = _TOKENS,
        floor: float = _TOKEN_FLOOR,
    ) -> list[tuple[str, float]]:
        """The words or characters of ``text`` that pushed most towards ``class_index``.

        Each positive contribution (tf-idf value times the class's weight) is mapped
        back to something a person can read: a character n-gram inside a spaced word
        ("noi") is shown as that word ("noise"); in Chinese the characters themselves.
        Contributions naming the same thing are summed; overlapping names ("sign" and
        "street sign") are one piece of evidence, kept by the stronger name. Of these, at
        most ``limit`` are named, strongest first, and only those reaching ``floor`` times
        the strongest one's weight (the strongest always does).
        """
        if not 0.0 <= floor <= 1.0:
            raise TriageInputError("floor", f"{floor} is outside [0, 1]")
        classes = np.array([class_index], dtype=np.intp)
        return self._tokens(_documents([text]), row[:1], classes, limit=limit, floor=floor)[0]

    def _tokens(
        self,
        documents: Sequence[str],
        matrix: sp.csr_matrix,
        classes: NDArray[np.intp],
        *,
        limit: int,
        floor: float = _TOKEN_FLOOR,
    ) -> list[list[tuple[str, float]]]:
        """:meth:`top_contributions` for every row of ``matrix`` at once (row ``i`` is
        ``documents[i]``, explained for ``classes[i]``): contributions, their ranking,
        their names and the sums per name by numpy over the whole batch; Python only
        widens names to words (one ``find`` each) and merges overlapping names."""
        model = self._model
        counts = np.diff(matrix.indptr)
        rows = np.repeat(np.arange(matrix.shape[0]), counts)
        contributions = matrix.data * model.coef[classes[rows], matrix.indices]
        positive = np.flatnonzero(contributions > 0)
        # Each row's positive contributions, strongest first (ties: column order).
        order = positive[np.lexsort((-contributions[positive], rows[positive]))]
        rows, columns, weights = rows[order], matrix.indices[order], contributions[order]
        ids: dict[str, int] = {}
        name_ids = readable_names(model.vectorizer, documents, rows, columns, ids)
        named = name_ids >= 0
        # Sums per (row, name), added in ranking order (bincount adds in array order).
        keys = rows[named] * max(1, len(ids)) + name_ids[named]
        distinct, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        sums = np.bincount(inverse, weights=weights[named].astype(np.float64))
        group_rows = distinct // max(1, len(ids))
        # Per row: the names by total, strongest first (ties: first seen first).
        ranked = np.lexsort((first, -sums, group_rows))
        text_of = list(ids)
        ranked_names = [text_of[i] for i in (distinct[ranked] % max(1, len(ids))).tolist()]
        ranked_sums = sums[ranked].tolist()
        bounds = np.searchsorted(group_rows[ranked], np.arange(matrix.shape[0] + 1)).tolist()
        return [
            _strongest(
                merge_overlaps(
                    ranked_names[bounds[row] : bounds[row + 1]],
                    ranked_sums[bounds[row] : bounds[row + 1]],
                    limit,
                ),
                floor,
            )
            for row in range(matrix.shape[0])
        ]

    def similar_cases(self, row: sp.csr_matrix, *, limit: int = 3) -> list[SimilarCase]:
        """The most similar past cases by TF-IDF cosine (ids and labels, no text)."""
        return self._similar(row[:1], limit=limit)[0]

    def _similar(self, matrix: sp.csr_matrix, *, limit: int) -> list[list[SimilarCase]]:
        """Per row of ``matrix``: its ``limit`` most similar past cases, best first.

        One sparse product per block of rows gives every row's cosines with the whole
        index; only each row's top ``limit`` are kept."""
        model = self._model
        found: list[list[SimilarCase]] = [[] for _ in range(matrix.shape[0])]
        if model.index.shape[0] == 0 or limit <= 0:
            return found
        if model.index_by_feature is None:
            model.index_by_feature = sp.csr_matrix(model.index.T)
        units = _l2_rows(matrix)
        # Rows per product: a dense block of (rows x index) cosines stays near 64 MB.
        step = max(1, (16 << 20) // model.index.shape[0])
        keep = min(limit, model.index.shape[0])
        for start in range(0, matrix.shape[0], step):
            cosines = (units[start : start + step] @ model.index_by_feature).toarray()
            top = np.argpartition(-cosines, keep - 1, axis=1)[:, :keep]
            for offset, candidates in enumerate(top):
                values = cosines[offset, candidates]
                ranked = candidates[np.lexsort((candidates, -values))]
                found[start + offset] = [
                    SimilarCase(
                        model.index_ids[i],
                        model.index_labels[i],
                        round(float(cosines[offset, i]), 4),
                    )
                    for i in ranked
                    if cosines[offset, i] > 0
                ]
        return found

    def explain_text(self, text: str) -> Proposal:
        """The proposal for one text, with alternatives and the evidence behind it."""
        limit = int(self.metadata.get("max_text_chars", MAX_TEXT_CHARS))
        check_text(text, max_chars=limit)
        batch, at = self._one(text)
        if batch.matrix.indptr[at] == batch.matrix.indptr[at + 1]:
            raise TriageInputError("text", "has no letters or digits the model knows")
        model = self._model
        probabilities = softmax(batch.scores[at : at + 1], model.temperature)[0]
        ranked = np.argsort(-probabilities, kind="stable")
        best = int(ranked[0])
        label = model.classes[best]
        confidence = min(float(probabilities[best]), MAX_CONFIDENCE)
        similar = batch.similar[at]
        tokens = (
            batch.tokens[at]
            if batch.explained[at] == best
            else self.top_contributions(text, batch.matrix[at], best)
        )
        evidence = [
            Evidence(EvidenceKind.TOKEN, name, round(weight, 4)) for name, weight in tokens
        ] + [
            Evidence(
                EvidenceKind.SIMILAR_CASE,
                f"case {case.case_id} ({case.label})",
                case.similarity,
                {"case_id": case.case_id, "label": case.label},
            )
            for case in similar
        ]
        agreeing = sum(1 for case in similar if case.label == label)
        words = ", ".join(f"'{name}'" for name, _ in tokens[:4]) or "no single word"
        # What the engine saw, and nothing about what happens next: whether a proposal
        # takes effect without a person is cogov.control's decision (its threshold in
        # force is max(this engine's, the agency's floor), and rules come first).
        summary = (
            f"{self.action.value} -> {label} (confidence {confidence:.2f}); "
            f"driven by {words}; "
            f"{agreeing} of the {len(similar)} most similar past cases had this label."
        )
        alternatives = tuple(
            (model.classes[int(i)], round(float(probabilities[int(i)]), 4)) for i in ranked[1:4]
        )
        return Proposal(
            action=self.action,
            value=label,
            confidence=confidence,
            explanation=Explanation(summary=summary, evidence=tuple(evidence)),
            alternatives=alternatives,
        )

    def propose(self, case: CaseView) -> Sequence[Proposal]:
        text = case_text(case.description, case.extra_text, self.text_columns)
        return [self.explain_text(text)]

    # -- files ----------------------------------------------------------------------
    def save(self, directory: Path | str) -> Path:
        """Write ``model.skops`` and ``manifest.json`` (with the file's SHA-256)."""
        directory = Path(directory)
        summary = {key: value for key, value in self.metadata.items() if key != "class_counts"}
        write_model_dir(
            directory,
            {MODEL_FILE: self.model_bytes()},
            {"model_hash": self.identity.model_hash, **summary},
        )
        return directory


def load_engine(directory: Path | str) -> TrainedEngine:
    """Load a saved engine; refuses a changed file (hash) or an untrusted type."""
    directory = Path(directory)
    _manifest, files = read_model_dir(directory)
    if MODEL_FILE not in files:
        raise ModelFileError(f"{directory / MODEL_FILE}: not listed in the manifest")
    data = files[MODEL_FILE]
    state = load_state(data, source=directory / MODEL_FILE)
    if state.get("schema") != STATE_SCHEMA:
        raise ModelFileError(
            f"{directory / MODEL_FILE}: model schema {state.get('schema')!r}, "
            f"this cogov reads {STATE_SCHEMA}; retrain the model"
        )
    try:
        vectorizer = HashingTfidf.from_state(state["featuriser"])
        model = _Model(
            vectorizer=vectorizer,
            coef=np.asarray(state["coef"], dtype=np.float32),
            intercept=np.asarray(state["intercept"], dtype=np.float32),
            temperature=float(state["temperature"]),
            classes=tuple(str(c) for c in state["classes"]),
            index=sp.csr_matrix(state["index"], dtype=np.float32),
            index_ids=[str(i) for i in state["index_ids"]],
            index_labels=[str(i) for i in state["index_labels"]],
        )
        metadata = dict(state["metadata"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{directory / MODEL_FILE}: incomplete model state ({exc})") from None
    engine = TrainedEngine(model, metadata)
    engine._state_bytes = data
    return engine


def with_threshold(engine: TrainedEngine, threshold: float) -> TrainedEngine:
    """A copy of ``engine`` with another automation threshold (e.g. a stricter policy)."""
    if not 0.0 <= threshold <= 1.0:
        raise TriageInputError("threshold", f"{threshold} is outside [0, 1]")
    return TrainedEngine(replace(engine._model), {**engine.metadata, "threshold": threshold})

"""Duplicate detection: is a new request a repeat of a case that is still open?

The pipeline feeds the index with open cases (``add``) and takes closed ones out
(``remove``); for a new case it asks ``propose``. A candidate must share the place
(the same normalised address, or coordinates within ``max_distance_m``); it is then
scored on four signals a reviewer can check:

- same place (address, or distance in metres),
- same problem (the service code),
- close in time (within ``window``),
- similar words (cosine of character n-grams; works for Chinese and English).

The score is a logistic combination of the signals with weights a deployment can
set; the proposal lists each signal with its contribution.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TypeVar

import numpy as np

from cogov.core.canonical import canonical_json
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
)
from cogov.triage.text import join_fields, normalise

ENGINE_NAME = "cogov-duplicates"
ENGINE_VERSION = "1"
_EARTH_RADIUS_M = 6_371_000.0
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class DuplicateSettings:
    """How duplicates are scored. The defaults were set on NYC 311's own labels."""

    window: timedelta = timedelta(days=7)
    max_distance_m: float = 40.0
    # Logistic weights: confidence = sigmoid(bias + sum(weight * signal)).
    bias: float = -4.0
    weight_place: float = 2.5
    weight_service: float = 2.0
    weight_time: float = 0.5
    weight_text: float = 2.0
    # Per-service adjustment of the score, learnt from the agency's own duplicate labels
    # (fit_service_bias): some services merge repeats (a building without heat), others
    # answer every call (a loud party). Service codes normalised; unknown ones get 0.
    service_bias: tuple[tuple[str, float], ...] = ()
    # Confidence at which a duplicate is proposed at all (below: nothing is said).
    propose_at: float = 0.5
    # Confidence at or above which a proposal may be applied without a person. This
    # default is hand-set; learn_settings picks it from out-of-fold confidences instead.
    auto_at: float = 0.95

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise ValueError("window: must be positive")
        if self.max_distance_m < 0:
            raise ValueError("max_distance_m: must not be negative")
        if not 0.0 < self.propose_at <= self.auto_at <= 1.0:
            raise ValueError("propose_at and auto_at: need 0 < propose_at <= auto_at <= 1")


@dataclass(frozen=True, slots=True)
class DuplicateMatch:
    """One open case a new case may repeat, with the signals that say so."""

    case_id: str
    confidence: float
    same_address: bool
    distance_m: float | None
    same_service: bool | None  # None: one of the two has no service code
    hours_apart: float | None
    text_similarity: float
    contributions: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Entry:
    case: CaseView
    vector: dict[str, float]


@lru_cache(maxsize=8192)
def _ngram_vector(text: str) -> dict[str, float]:
    """L2-normalised counts of the character 2-4-grams within words (as TF-IDF's
    char_wb, without a fitted vocabulary: an index is built one case at a time).
    Cached: requests repeat the same words (a service name, a descriptor)."""
    counts: dict[str, float] = {}
    for word in text.split():
        padded = f" {word} "
        for n in (2, 3, 4):
            for start in range(max(1, len(padded) - n + 1)):
                gram = padded[start : start + n]
                counts[gram] = counts.get(gram, 0.0) + 1.0
    norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
    return {gram: value / norm for gram, value in counts.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(value * b.get(gram, 0.0) for gram, value in a.items())


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def normalise_address(address: str) -> str:
    """A comparable form of an address: case, width and spacing folded."""
    return normalise(address).replace(",", " ").replace("  ", " ").strip()


def _point(case: CaseView) -> tuple[float, float] | None:
    """The case's coordinates if they name a place."""
    lat, lon = case.latitude, case.longitude
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    # Placeholder coordinates (0,0) or whole degrees (Baltimore's 39,-77) name no place.
    if float(lat).is_integer() and float(lon).is_integer():
        return None
    return (lat, lon)


class DuplicateIndex:
    """Open cases, looked up by place, that new cases are compared with.

    Implements :class:`cogov.triage.protocol.TriageEngine` (``propose`` returns one
    ``mark_duplicate`` proposal or none).
    """

    def __init__(self, settings: DuplicateSettings | None = None) -> None:
        self.settings = settings or DuplicateSettings()
        self._service_bias = {normalise(k): v for k, v in self.settings.service_bias}
        self._entries: dict[str, _Entry] = {}
        self._by_address: dict[str, set[str]] = defaultdict(set)
        self._by_cell: dict[tuple[int, int], set[str]] = defaultdict(set)
        self._identity = EngineIdentity(
            name=ENGINE_NAME,
            version=ENGINE_VERSION,
            model_hash=hashlib.sha256(
                canonical_json({k: str(v) for k, v in asdict(self.settings).items()}).encode()
            ).hexdigest(),
        )

    # -- protocol ---------------------------------------------------------------------
    @property
    def identity(self) -> EngineIdentity:
        """The settings' hash stands in for a model hash: they are the whole model."""
        return self._identity

    @property
    def threshold(self) -> float:
        return self.settings.auto_at

    def propose(self, case: CaseView) -> Sequence[Proposal]:
        proposal = self.check(case)
        return [proposal] if proposal is not None else []

    # -- the index --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._entries

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        # Cells a little larger than the match distance: neighbours are in the 3x3 block.
        size_deg = max(self.settings.max_distance_m, 1.0) / 111_000.0
        return (math.floor(lat / size_deg), math.floor(lon / size_deg))

    def _text(self, case: CaseView) -> str:
        return normalise(join_fields([case.description, *case.extra_text.values()]))

    def add(self, case: CaseView) -> None:
        """Index an open case (adding the same id again replaces it)."""
        if case.case_id in self._entries:
            self.remove(case.case_id)
        self._entries[case.case_id] = _Entry(case, _ngram_vector(self._text(case)))
        if case.address_key:
            self._by_address[normalise_address(case.address_key)].add(case.case_id)
        point = _point(case)
        if point is not None:
            self._by_cell[self._cell(*point)].add(case.case_id)

    def remove(self, case_id: str) -> None:
        """Take a case out (closed, or itself marked a duplicate); unknown ids are ignored."""
        entry = self._entries.pop(case_id, None)
        if entry is None:
            return
        case = entry.case
        if case.address_key:
            self._by_address[normalise_address(case.address_key)].discard(case_id)
        point = _point(case)
        if point is not None:
            self._by_cell[self._cell(*point)].discard(case_id)

    def _candidate_ids(self, case: CaseView) -> set[str]:
        found: set[str] = set()
        if case.address_key:
            found |= self._by_address.get(normalise_address(case.address_key), set())
        point = _point(case)
        if point is not None:
            row, col = self._cell(*point)
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    found |= self._by_cell.get((row + dr, col + dc), set())
        found.discard(case.case_id)
        return found

    def matches(self, case: CaseView, *, limit: int = 5) -> list[DuplicateMatch]:
        """Open cases at the same place, scored, best first."""
        ids = self._candidate_ids(case)
        if not ids:
            return []
        vector = _ngram_vector(self._text(case))
        scored = (self._score(case, vector, self._entries[i]) for i in ids)
        results = [m for m in scored if m is not None]
        results.sort(key=lambda m: (-m.confidence, m.case_id))
        return results[:limit]

    def _score(
        self, case: CaseView, vector: dict[str, float], entry: _Entry
    ) -> DuplicateMatch | None:
        s = self.settings
        other = entry.case
        same_address = bool(
            case.address_key
            and other.address_key
            and normalise_address(case.address_key) == normalise_address(other.address_key)
        )
        distance: float | None = None
        here, there = _point(case), _point(other)
        if here is not None and there is not None:
            distance = haversine_m(*here, *there)
        if same_address:
            place = 1.0
        elif distance is not None and distance <= s.max_distance_m:
            place = 1.0 - 0.5 * distance / max(s.max_distance_m, 1e-9)
        else:
            return None
        hours: float | None = None
        if case.created_at is not None and other.created_at is not None:
            gap = abs(case.created_at - other.created_at)
            if gap > s.window:
                return None
            hours = gap.total_seconds() / 3600
            closeness = 1.0 - gap / s.window
        else:
            closeness = 0.5
        same_service: bool | None = None
        if case.service_code and other.service_code:
            same_service = normalise(case.service_code) == normalise(other.service_code)
        service = {True: 1.0, False: -1.0, None: 0.0}[same_service]
        text = _cosine(vector, entry.vector)
        contributions = {
            "place": s.weight_place * place,
            "service": s.weight_service * service,
            "time": s.weight_time * closeness,
            "words": s.weight_text * text,
        }
        if case.service_code and self._service_bias:
            bias = self._service_bias.get(normalise(case.service_code), 0.0)
            if bias:
                contributions["service history"] = bias
        z = s.bias + sum(contributions.values())
        confidence = 1.0 / (1.0 + math.exp(-z))
        return DuplicateMatch(
            case_id=other.case_id,
            confidence=min(confidence, MAX_CONFIDENCE),
            same_address=same_address,
            distance_m=None if distance is None else round(distance, 1),
            same_service=same_service,
            hours_apart=None if hours is None else round(hours, 2),
            text_similarity=round(text, 4),
            contributions={k: round(v, 4) for k, v in contributions.items()},
        )

    def check(self, case: CaseView) -> Proposal | None:
        """A ``mark_duplicate`` proposal naming the open case this one repeats, or None."""
        found = self.matches(case)
        if not found or found[0].confidence < self.settings.propose_at:
            return None
        best = found[0]
        return Proposal(
            action=ActionKind.MARK_DUPLICATE,
            value=best.case_id,
            confidence=best.confidence,
            explanation=_explain(best),
            alternatives=tuple(
                (m.case_id, round(m.confidence, 4))
                for m in found[1:4]
                if m.confidence >= self.settings.propose_at
            ),
        )


def _signal(label: str, weight: float, name: str, **values: float | bool) -> Evidence:
    """One signal: its label is the English record, its data lets a page word it."""
    return Evidence(EvidenceKind.SIGNAL, label, weight, {"signal": name, **values})


def _explain(match: DuplicateMatch) -> Explanation:
    signals: list[Evidence] = []
    c = match.contributions
    if match.same_address:
        signals.append(_signal("same address", c["place"], "same_address"))
    elif match.distance_m is not None:
        metres = match.distance_m
        signals.append(_signal(f"{metres:.0f} m apart", c["place"], "distance", metres=metres))
    if match.same_service is True:
        signals.append(_signal("same service", c["service"], "same_service"))
    elif match.same_service is False:
        signals.append(_signal("different service", c["service"], "different_service"))
    if match.hours_apart is not None:
        hours = match.hours_apart
        signals.append(_signal(f"{hours:.1f} h apart", c["time"], "hours_apart", hours=hours))
    similarity = match.text_similarity
    signals.append(
        _signal(
            f"word similarity {similarity:.2f}",
            c["words"],
            "word_similarity",
            similarity=similarity,
        )
    )
    if "service history" in c:
        often = c["service history"] > 0
        signals.append(
            _signal(
                f"this service {'often' if often else 'rarely'} merges repeats",
                c["service history"],
                "service_history",
                often=often,
            )
        )
    signals.append(
        Evidence(
            EvidenceKind.SIMILAR_CASE,
            f"case {match.case_id}",
            match.confidence,
            {"case_id": match.case_id},
        )
    )
    reasons = ", ".join(e.label for e in signals[:-1])
    return Explanation(
        summary=f"Repeats open case {match.case_id} "
        f"(confidence {match.confidence:.2f}): {reasons}.",
        evidence=tuple(signals),
    )


@dataclass(frozen=True, slots=True)
class ReplayedCase:
    case: CaseView
    closed_at: datetime | None = None


def replay(
    cases: Iterable[ReplayedCase], index: DuplicateIndex | None = None
) -> Iterator[tuple[CaseView, Proposal | None]]:
    """Run a history through an index in time order, as the pipeline would have.

    Each case is compared with the cases still open when it arrived, then added;
    cases leave the index when their ``closed_at`` has passed. Cases without
    ``created_at`` keep their given order. Used by the benchmark and the sandbox.
    """
    index = DuplicateIndex() if index is None else index
    return _in_time_order(cases, index, index.check)


def _in_time_order(
    cases: Iterable[ReplayedCase], index: DuplicateIndex, look: Callable[[CaseView], _T]
) -> Iterator[tuple[CaseView, _T]]:
    """``look`` at each case against the cases open when it arrived (see :func:`replay`)."""
    ordered = sorted(
        enumerate(cases),
        key=lambda item: (
            item[1].case.created_at is None,
            item[1].case.created_at or datetime.min,
            item[0],
        ),
    )
    open_until: list[tuple[datetime, str]] = []  # a heap: the next case to close first
    for _, item in ordered:
        now = item.case.created_at
        while now is not None and open_until and open_until[0][0] <= now:
            index.remove(heapq.heappop(open_until)[1])
        yield item.case, look(item.case)
        index.add(item.case)
        if item.closed_at is not None:
            heapq.heappush(open_until, (item.closed_at, item.case.case_id))


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def fit_service_bias(
    cases: Sequence[ReplayedCase],
    is_duplicate: Callable[[str], bool | None],
    settings: DuplicateSettings | None = None,
    *,
    min_cases: int = 5,
) -> DuplicateSettings:
    """Learn, per service, how often this agency closed a matched case as a duplicate.

    The history is replayed without any bias; for every case that got a proposal
    and has a label (``is_duplicate`` returns None for cases to leave out, e.g. a
    held-out half), the service's smoothed duplicate rate sets its bias so that the
    average confidence of its proposals matches the rate. Services with fewer than
    ``min_cases`` labelled proposals keep no bias.
    """
    base = replace(settings or DuplicateSettings(), service_bias=())
    logits: dict[str, list[float]] = defaultdict(list)
    hits: dict[str, int] = defaultdict(int)
    for case, proposal in replay(cases, DuplicateIndex(base)):
        label = is_duplicate(case.case_id)
        if proposal is None or label is None or not case.service_code:
            continue
        key = normalise(case.service_code)
        logits[key].append(_logit(proposal.confidence))
        hits[key] += int(label)
    bias: list[tuple[str, float]] = []
    for key, values in sorted(logits.items()):
        if len(values) < min_cases:
            continue
        rate = (hits[key] + 0.5) / (len(values) + 1.0)  # Jeffreys-smoothed rate
        bias.append((key, round(_logit(rate) - float(np.mean(values)), 4)))
    return replace(base, service_bias=tuple(bias))


# The signals a match is scored on, in the order of DuplicateSettings' weights.
SIGNALS = ("place", "service", "time", "words")


def fit_signal_weights(
    cases: Sequence[ReplayedCase],
    is_duplicate: Callable[[str], bool | None],
    settings: DuplicateSettings | None = None,
    *,
    strength: float = 1.0,
) -> DuplicateSettings:
    """Learn the bias and the four signal weights from the agency's own duplicate labels.

    The history is replayed with every weight at 1 and no bias, so a match's
    contributions are its raw signals; for every labelled case (``is_duplicate``
    returns None for cases to leave out, e.g. a held-out half) with an open case at
    the same place, the best match's signals and the label make one row of a
    logistic regression (L2, ``strength`` = its C). Its intercept and coefficients
    become ``bias`` and the weights, so ``propose_at=0.5`` proposes exactly the
    matches the regression finds more likely duplicates than not. Any service bias
    is dropped: learn it afterwards on the new weights (:func:`fit_service_bias`).
    """
    from sklearn.linear_model import LogisticRegression  # only when learning

    base = replace(settings or DuplicateSettings(), service_bias=())
    unit = replace(
        base,
        bias=0.0,
        weight_place=1.0,
        weight_service=1.0,
        weight_time=1.0,
        weight_text=1.0,
        propose_at=1e-9,
        auto_at=max(base.auto_at, 1e-9),
    )
    index = DuplicateIndex(unit)
    rows: list[list[float]] = []
    truth: list[bool] = []
    for case, found in _in_time_order(cases, index, lambda c: index.matches(c, limit=1)):
        label = is_duplicate(case.case_id)
        if not found or label is None:
            continue
        rows.append([found[0].contributions[name] for name in SIGNALS])
        truth.append(bool(label))
    if len(set(truth)) < 2:
        raise ValueError(
            "is_duplicate: the labelled cases with an open case at the same place "
            f"must include duplicates and non-duplicates ({len(truth)} found, "
            f"{sum(truth)} duplicates)"
        )
    model = LogisticRegression(C=strength).fit(np.asarray(rows), np.asarray(truth))
    weights = [round(float(w), 4) for w in model.coef_[0]]
    return replace(
        base,
        bias=round(float(model.intercept_[0]), 4),
        weight_place=weights[0],
        weight_service=weights[1],
        weight_time=weights[2],
        weight_text=weights[3],
    )


@dataclass(frozen=True, slots=True)
class LearntDuplicates:
    """Settings learnt from an agency's duplicate labels, and how they did on labels
    they were not learnt from (cross-fitted: each fold measured by the settings
    learnt on the other folds)."""

    settings: DuplicateSettings
    folds: int
    labelled: int  # cases with a label
    duplicates: int  # of which the agency closed as duplicates
    proposals: int  # out-of-fold proposals (at propose_at) on labelled cases
    precision: float  # their precision (0 when none)
    recall: float  # labelled duplicates proposed / labelled duplicates (0 when none)
    target_precision: float
    threshold: ThresholdChoice  # the automatic cut on the out-of-fold confidences

    @property
    def automatic(self) -> bool:
        """Whether any proposal may be applied without a person."""
        return self.settings.auto_at < 1.0

    def describe(self) -> str:
        """One sentence for a filing: what was measured and what is automatic."""
        measured = (
            f"Cross-fitted on {self.labelled:,} labelled cases ({self.folds} folds): "
            f"precision {self.precision:.3f}, recall {self.recall:.3f} "
            f"over {self.proposals:,} proposals"
        )
        if not self.automatic:
            return (
                f"{measured}; no confidence cut reached precision {self.target_precision} "
                "out of fold, so nothing is applied without a person."
            )
        return (
            f"{measured}; applied without a person at confidence "
            f"{self.settings.auto_at:.4f} or more, where out-of-fold precision was "
            f"{self.threshold.precision:.3f} on {self.threshold.support:,} proposals "
            f"(target {self.target_precision})."
        )


def fold_of(case_id: str, folds: int) -> int:
    """The cross-fitting fold of a case: a hash of its id, so the same case falls in
    the same fold in every run and every process."""
    return zlib.crc32(case_id.encode()) % folds


def _learn(
    cases: Sequence[ReplayedCase],
    is_duplicate: Callable[[str], bool | None],
    base: DuplicateSettings,
) -> DuplicateSettings:
    """Signal weights, then the per-service bias on top of them."""
    weights = fit_signal_weights(cases, is_duplicate, base)
    # The service bias is learnt from every matched case, not only those the new
    # weights already propose: learnt weights may leave a service (or all) below
    # propose_at until its bias lifts it.
    everything = replace(weights, propose_at=1e-9, auto_at=1.0)
    biased = fit_service_bias(cases, is_duplicate, everything)
    return replace(biased, propose_at=base.propose_at, auto_at=base.auto_at)


def learn_settings(
    cases: Sequence[ReplayedCase],
    is_duplicate: Callable[[str], bool | None],
    settings: DuplicateSettings | None = None,
    *,
    target_precision: float = TARGET_PRECISION,
    z: float = THRESHOLD_Z,
    folds: int = 4,
) -> LearntDuplicates:
    """Learn the duplicate finder from the agency's labels, and its automatic threshold
    by the classifier's rule.

    The bias and signal weights (:func:`fit_signal_weights`) and the per-service bias
    (:func:`fit_service_bias`) are learnt on all labelled cases (``is_duplicate``
    returns None for cases to leave out). The automatic threshold ``auto_at`` comes
    from out-of-fold confidences: the labelled cases are split into ``folds`` by a
    hash of their id; each fold is replayed with settings learnt on the others, and
    :func:`cogov.triage.rules.choose_threshold` picks, from the proposals made on
    it, the lowest cut whose Wilson-bounded precision reaches ``target_precision``.
    When no cut reaches it, ``auto_at`` is 1.0: nothing is automatic (confidences are
    capped below 1). The other settings (window, distance, ``propose_at``) are kept.

    Raises ValueError (naming ``is_duplicate``) when the labelled cases with an open
    case at their place, overall or outside a fold, are all of one kind.
    """
    if folds < 2:
        raise ValueError("folds: must be at least 2")
    base = replace(settings or DuplicateSettings(), service_bias=())
    labels = {item.case.case_id: is_duplicate(item.case.case_id) for item in cases}
    known = {case_id: bool(label) for case_id, label in labels.items() if label is not None}
    fold = {case_id: fold_of(case_id, folds) for case_id in known}
    confidence: list[float] = []
    correct: list[bool] = []
    for held in range(folds):

        def outside(case_id: str, held: int = held) -> bool | None:
            return known.get(case_id) if fold.get(case_id) != held else None

        learnt = _learn(cases, outside, base)
        for view, proposal in replay(cases, DuplicateIndex(learnt)):
            if proposal is not None and fold.get(view.case_id) == held:
                confidence.append(proposal.confidence)
                correct.append(known[view.case_id])
    choice = choose_threshold(
        np.asarray(confidence), np.asarray(correct), target_precision=target_precision, z=z
    )
    final = replace(_learn(cases, known.get, base), auto_at=choice.threshold)
    hits, duplicates = sum(correct), sum(known.values())
    return LearntDuplicates(
        settings=final,
        folds=folds,
        labelled=len(known),
        duplicates=duplicates,
        proposals=len(confidence),
        precision=hits / len(confidence) if confidence else 0.0,
        recall=hits / duplicates if duplicates else 0.0,
        target_precision=target_precision,
        threshold=choice,
    )

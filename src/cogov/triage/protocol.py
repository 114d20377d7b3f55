"""The small protocol every digital-employee engine implements.

An engine reads a case and proposes actions, each with a confidence in [0, 1]
and an explanation (the evidence that drove it). It never applies anything:
``cogov.control`` decides what happens to each proposal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable


class ActionKind(StrEnum):
    ROUTE = "route"  # value: the department / queue
    CATEGORISE = "categorise"  # value: the category / service type
    PRIORITISE = "prioritise"  # value: "low" | "normal" | "high" | "urgent"
    MARK_DUPLICATE = "mark_duplicate"  # value: id of the open case it repeats
    DRAFT_REPLY = "draft_reply"  # value: the drafted text (always AI-labelled)


class EvidenceKind(StrEnum):
    TOKEN = "token"  # a word or character n-gram that pushed towards the choice
    SIMILAR_CASE = "similar_case"  # a past case like this one (id and its label)
    PASSAGE = "passage"  # a knowledge-base passage used for a draft
    SIGNAL = "signal"  # a structured signal (same place, close in time, ...)


# A structured fact of one piece of evidence: a plain value a page formats itself.
Fact = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: EvidenceKind
    label: str  # what a person reads, in English: "noise", "case 40611598 (NYPD)", ...
    weight: float  # contribution, comparable within one explanation
    # What the label says, as plain values, so a page can word it in its reader's
    # language (the label stays the record). By kind: similar_case {case_id, label?};
    # signal {signal: same_address | distance (metres) | same_service |
    # different_service | hours_apart (hours) | word_similarity (similarity) |
    # service_history (often)}; passage {source, title, example}. Empty: label only.
    data: Mapping[str, Fact] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class Explanation:
    summary: str  # one plain sentence
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class Proposal:
    action: ActionKind
    value: str
    confidence: float
    explanation: Explanation
    # Alternatives the engine considered, best first: (value, confidence).
    alternatives: tuple[tuple[str, float], ...] = ()
    # True for any text a citizen may read that an engine wrote.
    ai_drafted: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence: {self.confidence} is outside [0, 1]")


@dataclass(frozen=True, slots=True)
class CaseView:
    """What an engine may see of a case: no contact details, ever."""

    case_id: str
    description: str
    service_code: str | None = None
    language: str | None = None
    channel: str | None = None
    created_at: datetime | None = None
    address_key: str | None = None  # normalised place (building / street segment), no person
    latitude: float | None = None
    longitude: float | None = None
    extra_text: Mapping[str, str] = field(default_factory=dict)  # e.g. descriptor, location type


@dataclass(frozen=True, slots=True)
class EngineIdentity:
    name: str
    version: str
    model_hash: str  # SHA-256 of the model file: what the ledger records as the model version

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}#{self.model_hash[:12]}"


@runtime_checkable
class TriageEngine(Protocol):
    @property
    def identity(self) -> EngineIdentity: ...

    @property
    def threshold(self) -> float:
        """Confidence at or above which a proposal may be applied without a human
        (if the grade and the negative list allow); chosen on the training data."""
        ...

    def propose(self, case: CaseView) -> Sequence[Proposal]: ...

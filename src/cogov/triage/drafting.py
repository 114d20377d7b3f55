"""Draft replies: a template filled with the case and with passages retrieved from a
small bilingual policy knowledge base. Every draft is marked as AI-drafted, in the
case's language, inside the text itself (so the label travels wherever the text goes).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Protocol

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer

from cogov.triage.errors import TriageInputError
from cogov.triage.protocol import (
    ActionKind,
    CaseView,
    EngineIdentity,
    Evidence,
    EvidenceKind,
    Explanation,
    Proposal,
)
from cogov.triage.rules import MAX_CONFIDENCE
from cogov.triage.text import case_text, detect_language, normalise

LANGUAGES = ("en", "zh")

# The label every AI-drafted text carries, in the reader's language.
AI_LABELS = {
    "en": "[AI-drafted] This reply was drafted by an AI assistant and is checked by a "
    "member of staff, who is responsible for it.",
    "zh": "【AI 起草】本回复由人工智能辅助起草，经工作人员审核，由其负责。",
}

TEMPLATES = {
    "en": Template(
        "Dear resident,\n\n"
        "Thank you for your request $reference about $topic$place.$routing\n\n"
        "$passages\n\n"
        "You can follow your request and reply to this message with its reference.\n\n"
        "$agency\n\n"
        "$label"
    ),
    "zh": Template(
        "您好！\n\n"
        "感谢您反映的问题（工单号：$reference）：$topic$place。$routing\n\n"
        "$passages\n\n"
        "您可凭工单号查询办理进度，或直接回复本消息。\n\n"
        "$agency\n\n"
        "$label"
    ),
}
ROUTING = {
    "en": " It has been passed to $department.",
    "zh": "已转交$department办理。",
}
DEFAULT_AGENCY = {"en": "Your city service team", "zh": "市民服务热线"}

_HEADING = re.compile(r"^##\s*\[(?P<lang>[a-z]{2})\]\s*(?P<title>.+?)\s*$", re.MULTILINE)


def ai_label(language: str | None) -> str:
    """The AI-drafted label in ``language`` (English when it is not one cogov has)."""
    return AI_LABELS.get((language or "en")[:2].lower(), AI_LABELS["en"])


@dataclass(frozen=True, slots=True)
class Passage:
    service: str
    language: str
    title: str
    text: str
    source: str  # file name, e.g. "streetlight.md"
    example: bool  # True for the shipped example pages


@dataclass(frozen=True, slots=True)
class Service:
    code: str
    titles: dict[str, str]
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Retrieved:
    passage: Passage
    score: float


class Retriever(Protocol):
    """Finds knowledge-base passages for a query (TF-IDF here; embeddings optionally)."""

    def search(
        self, query: str, *, language: str, service: str | None = None, limit: int = 2
    ) -> list[Retrieved]: ...


class KnowledgeBase:
    """Policy pages (Markdown per service, bilingual) split into passages."""

    def __init__(self, services: Sequence[Service], passages: Sequence[Passage], digest: str):
        self.services = {s.code: s for s in services}
        self.passages = list(passages)
        self.digest = digest  # SHA-256 over the pages: part of a drafter's identity

    @classmethod
    def load(cls, directory: Path | None = None) -> KnowledgeBase:
        """Read every ``*.md`` page with front matter in ``directory`` (default: the
        example pages shipped with cogov)."""
        if directory is None:
            root = resources.files("cogov.triage") / "knowledge"
            pages = sorted(
                (entry.name, entry.read_text(encoding="utf-8"))
                for entry in root.iterdir()
                if entry.name.endswith(".md")
            )
        else:
            if not directory.is_dir():
                raise TriageInputError("knowledge", f"{directory} is not a directory")
            pages = sorted(
                (path.name, path.read_text(encoding="utf-8")) for path in directory.glob("*.md")
            )
        services: list[Service] = []
        passages: list[Passage] = []
        digest = hashlib.sha256()
        for name, text in pages:
            parsed = _parse_page(name, text)
            if parsed is None:
                continue  # a README or notes without front matter
            service, page_passages = parsed
            services.append(service)
            passages.extend(page_passages)
            digest.update(name.encode() + b"\0" + text.encode() + b"\0")
        if not passages:
            raise TriageInputError("knowledge", "no policy pages with passages were found")
        return cls(services, passages, digest.hexdigest())

    def service_for(self, case: CaseView) -> Service | None:
        """The page a case belongs to: by service code, then by an alias in its words."""
        if case.service_code:
            code = normalise(case.service_code)
            for service in self.services.values():
                if code == service.code or code in (normalise(a) for a in service.aliases):
                    return service
        words = normalise(case_text(case.description, case.extra_text, case.extra_text.keys()))
        best: tuple[int, Service] | None = None
        for service in self.services.values():
            hits = sum(1 for alias in service.aliases if normalise(alias) in words)
            if hits and (best is None or hits > best[0]):
                best = (hits, service)
        return best[1] if best else None


def _parse_page(name: str, text: str) -> tuple[Service, list[Passage]] | None:
    if not text.startswith("---"):
        return None
    try:
        _, front, body = text.split("---", 2)
        meta = yaml.safe_load(front) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise TriageInputError(f"knowledge/{name}", f"bad front matter ({exc})") from None
    code = str(meta.get("service") or "").strip()
    if not code:
        raise TriageInputError(f"knowledge/{name}", "front matter has no 'service'")
    service = Service(
        code=normalise(code),
        titles={lang: str(meta.get(f"title_{lang}") or code) for lang in LANGUAGES},
        aliases=tuple(str(a) for a in meta.get("aliases") or ()),
    )
    headings = list(_HEADING.finditer(body))
    passages = []
    for k, heading in enumerate(headings):
        end = headings[k + 1].start() if k + 1 < len(headings) else len(body)
        content = " ".join(body[heading.end() : end].split())
        if content:
            passages.append(
                Passage(
                    service=service.code,
                    language=heading["lang"],
                    title=heading["title"],
                    text=content,
                    source=name,
                    example=bool(meta.get("example", False)),
                )
            )
    return service, passages


class TfidfRetriever:
    """Character n-gram TF-IDF over the passages of each language (no model to download)."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge
        self._by_language: dict[str, tuple[TfidfVectorizer, np.ndarray, list[Passage]]] = {}
        for language in {p.language for p in knowledge.passages}:
            chosen = [p for p in knowledge.passages if p.language == language]
            vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
            matrix = vectorizer.fit_transform(normalise(f"{p.title} {p.text}") for p in chosen)
            self._by_language[language] = (vectorizer, matrix, chosen)

    def search(
        self, query: str, *, language: str, service: str | None = None, limit: int = 2
    ) -> list[Retrieved]:
        if language not in self._by_language:
            language = "en" if "en" in self._by_language else next(iter(self._by_language))
        vectorizer, matrix, passages = self._by_language[language]
        similarity = np.asarray((matrix @ vectorizer.transform([normalise(query)]).T).todense())
        scores = similarity.ravel()
        if service is not None:
            # The case's own service page first: a small, explicit preference.
            scores = scores + np.array([0.5 if p.service == service else 0.0 for p in passages])
        order = np.argsort(-scores, kind="stable")[:limit]
        return [Retrieved(passages[i], round(float(min(scores[i], 1.0)), 4)) for i in order]


class TemplateDrafter:
    """The default drafter: a fixed template per language, filled with the case and the
    retrieved passages. Implements :class:`cogov.triage.protocol.TriageEngine`.

    Its threshold is 1.0: a reply a citizen reads always goes past a person first.
    """

    name = "cogov-template-drafter"
    version = "1"

    def __init__(
        self,
        knowledge: KnowledgeBase | None = None,
        *,
        retriever: Retriever | None = None,
        agency: dict[str, str] | None = None,
        passages_per_reply: int = 2,
    ) -> None:
        self.knowledge = knowledge or KnowledgeBase.load()
        self.retriever = retriever or TfidfRetriever(self.knowledge)
        self.agency = {**DEFAULT_AGENCY, **(agency or {})}
        self.passages_per_reply = passages_per_reply
        material = (
            self.knowledge.digest
            + repr(sorted(self.agency.items()))
            + "".join(t.template for t in TEMPLATES.values())
        )
        self._identity = EngineIdentity(
            self.name, self.version, hashlib.sha256(material.encode()).hexdigest()
        )

    @property
    def identity(self) -> EngineIdentity:
        return self._identity

    @property
    def threshold(self) -> float:
        return 1.0

    def retrieve(self, case: CaseView) -> tuple[str, Service | None, list[Retrieved]]:
        language = language_of(case)
        service = self.knowledge.service_for(case)
        query = case_text(case.description, case.extra_text, case.extra_text.keys())
        found = self.retriever.search(
            query,
            language=language,
            service=service.code if service else None,
            limit=self.passages_per_reply,
        )
        return language, service, found

    def draft(self, case: CaseView, *, department: str | None = None) -> Proposal:
        """A ``draft_reply`` proposal: the text, the passages it used, the AI label."""
        language, service, found = self.retrieve(case)
        topic = service.titles[language] if service else _topic(case.description, language)
        if language == "en" and service:
            topic = topic[:1].lower() + topic[1:]
        text = TEMPLATES[language].substitute(
            reference=case.case_id,
            topic=topic,
            place=_place(case, language),
            routing=Template(ROUTING[language]).substitute(department=department)
            if department
            else "",
            passages="\n\n".join(r.passage.text for r in found),
            agency=self.agency[language],
            label=ai_label(language),
        )
        return draft_proposal(text, found, language=language, used_service=service)

    def propose(self, case: CaseView) -> Sequence[Proposal]:
        return [self.draft(case)]


def draft_proposal(
    text: str, found: Sequence[Retrieved], *, language: str, used_service: Service | None
) -> Proposal:
    """Wrap a drafted text as a proposal; the AI label is added if the text lacks it."""
    label = ai_label(language)
    if label not in text:
        text = f"{text.rstrip()}\n\n{label}"
    confidence = max((r.score for r in found), default=0.0)
    evidence = tuple(
        Evidence(
            EvidenceKind.PASSAGE,
            f"{r.passage.source}: {r.passage.title}"
            + (" (example content)" if r.passage.example else ""),
            r.score,
            {"source": r.passage.source, "title": r.passage.title, "example": r.passage.example},
        )
        for r in found
    )
    about = used_service.titles[language] if used_service else "no matching service page"
    return Proposal(
        action=ActionKind.DRAFT_REPLY,
        value=text,
        confidence=min(max(confidence, 0.0), MAX_CONFIDENCE),
        explanation=Explanation(
            # What the drafter did; who checks it is cogov.control's to say.
            summary=f"Reply drafted in {language} from {len(found)} policy passage(s) ({about}).",
            evidence=evidence,
        ),
        ai_drafted=True,
    )


def language_of(case: CaseView) -> str:
    if case.language and case.language[:2].lower() in LANGUAGES:
        return case.language[:2].lower()
    return detect_language(case.description)


def _topic(description: str, language: str) -> str:
    short = " ".join(description.split())
    short = short if len(short) <= 60 else short[:57] + "..."
    return f"“{short}”" if language == "zh" else f'"{short}"'


def _place(case: CaseView, language: str) -> str:
    if not case.address_key:
        return ""
    return f"（{case.address_key}）" if language == "zh" else f" at {case.address_key}"

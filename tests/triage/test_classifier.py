from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cogov.triage import (
    ActionKind,
    CaseView,
    EvidenceKind,
    TrainedEngine,
    TriageEngine,
    TriageInputError,
    train,
)
from cogov.triage.history import History
from cogov.triage.text import normalise


class TestTrainChinese:
    """A 12345 hotline writes Chinese with no spaces; character n-grams must carry it."""

    @pytest.mark.parametrize(
        ("text", "department"),
        [
            ("我家楼下的路灯坏了，晚上很黑", "城管局"),
            ("自来水有异味，水质发黄", "水务局"),
            ("工厂排放废气，气味很刺鼻", "生态环境局"),
            ("公交车半小时都不来一班", "交通局"),
            ("物业不作为，电梯坏了没人修", "住建局"),
        ],
    )
    def test_routes_new_chinese_requests(
        self, hotline_engine: TrainedEngine, text: str, department: str
    ) -> None:
        proposal = hotline_engine.explain_text(text)
        assert proposal.value == department
        assert proposal.action is ActionKind.ROUTE

    def test_engine_implements_the_protocol(self, hotline_engine: TrainedEngine) -> None:
        assert isinstance(hotline_engine, TriageEngine)
        assert hotline_engine.identity.name == "cogov-linear"
        assert len(hotline_engine.identity.model_hash) == 64
        assert 0.0 < hotline_engine.threshold <= 1.0

    def test_propose_reads_the_case_and_offers_alternatives(
        self, hotline_engine: TrainedEngine
    ) -> None:
        case = CaseView(case_id="c1", description="井盖丢失了", language="zh")
        (proposal,) = hotline_engine.propose(case)
        assert proposal.value == "水务局"
        assert 0.0 < proposal.confidence < 1.0
        alternatives = [value for value, _ in proposal.alternatives]
        assert proposal.value not in alternatives
        assert len(alternatives) == 3
        confidences = [proposal.confidence] + [c for _, c in proposal.alternatives]
        assert confidences == sorted(confidences, reverse=True)

    def test_batch_prediction_matches_one_at_a_time(self, hotline_engine: TrainedEngine) -> None:
        texts = ["路灯不亮", "水管爆了", "出租车拒载"]
        batch = hotline_engine.predict_many(texts)
        single = [hotline_engine.explain_text(text) for text in texts]
        assert batch.labels == [p.value for p in single]
        assert np.allclose(batch.confidence, [p.confidence for p in single])
        assert np.allclose(batch.probabilities.sum(axis=1), 1.0)


class TestExplanation:
    TEXT = "路灯坏了，晚上一片漆黑，占道经营的摊贩也很多"

    def test_named_tokens_are_in_the_text_and_push_towards_the_label(
        self, hotline_engine: TrainedEngine
    ) -> None:
        proposal = hotline_engine.explain_text(self.TEXT)
        tokens = [e for e in proposal.explanation.evidence if e.kind is EvidenceKind.TOKEN]
        assert tokens, "an explanation must name what drove the choice"
        for token in tokens:
            assert token.label in normalise(self.TEXT)
            assert token.weight > 0
        # Taking the strongest token out of the text lowers the chosen label's probability.
        label_index = hotline_engine.classes.index(proposal.value)
        without = self.TEXT.replace(tokens[0].label, "")
        before = hotline_engine.predict_many([self.TEXT]).probabilities[0, label_index]
        after = hotline_engine.predict_many([without]).probabilities[0, label_index]
        assert after < before

    def test_english_character_ngrams_are_shown_as_whole_words(self) -> None:
        texts = [
            "loud music from the party next door",
            "noise from loud music all night",
            "neighbours playing loud music again",
            "barking dog and loud music",
            "pothole in the road damaged my tyre",
            "large pothole on the main street",
            "road surface broken with potholes",
            "deep pothole near the crossing",
        ] * 3
        labels = (["NYPD"] * 4 + ["DOT"] * 4) * 3
        engine = train(texts, labels)
        proposal = engine.explain_text("Loud MUSIC upstairs")
        assert proposal.value == "NYPD"
        named = {e.label for e in proposal.explanation.evidence if e.kind is EvidenceKind.TOKEN}
        for name in named:
            assert all(word in {"loud", "music", "upstairs"} for word in name.split()), name

    def test_similar_cases_are_past_cases_with_their_labels(
        self, hotline_engine: TrainedEngine, hotline_history: History
    ) -> None:
        proposal = hotline_engine.explain_text("路灯一直闪烁，晚上看不清路")
        similar = [e for e in proposal.explanation.evidence if e.kind is EvidenceKind.SIMILAR_CASE]
        assert similar
        assert hotline_history.case_ids is not None
        assert hotline_history.labels is not None
        label_of = dict(zip(hotline_history.case_ids, hotline_history.labels, strict=True))
        for evidence in similar:
            case_id, label = evidence.label.removeprefix("case ").rstrip(")").split(" (")
            assert label_of[case_id] == label
            assert evidence.data == {"case_id": case_id, "label": label}
            assert 0 < evidence.weight <= 1
        weights = [e.weight for e in similar]
        assert weights == sorted(weights, reverse=True)
        assert "城管局" in proposal.explanation.summary

    def test_summary_says_what_the_engine_saw_and_claims_no_routing(
        self, hotline_engine: TrainedEngine
    ) -> None:
        # Whether a proposal is applied is cogov.control's to say (its threshold in
        # force can be higher than the engine's, and rules come first).
        proposal = hotline_engine.explain_text("路灯一直闪烁，晚上看不清路")
        summary = proposal.explanation.summary
        assert f"confidence {proposal.confidence:.2f}" in summary
        assert "most similar past cases had this label" in summary
        for claim in ("threshold", "automatic", "person"):
            assert claim not in summary


class TestThreshold:
    def test_cross_validated_precision_above_the_threshold_meets_the_target(
        self, hotline_engine: TrainedEngine
    ) -> None:
        cv = hotline_engine.metadata["cross_validation"]
        if hotline_engine.threshold < 1.0:
            assert cv["auto_precision"] >= 0.97
            assert cv["auto_share"] > 0
        assert hotline_engine.metadata["target_precision"] == 0.97

    def test_a_stricter_target_never_automates_more(self, hotline_history: History) -> None:
        assert hotline_history.labels is not None
        from cogov.triage import TrainingOptions

        loose = train(
            hotline_history.texts,
            hotline_history.labels,
            options=TrainingOptions(target_precision=0.8),
        )
        strict = train(
            hotline_history.texts,
            hotline_history.labels,
            options=TrainingOptions(target_precision=0.99),
        )
        assert (
            strict.metadata["cross_validation"]["auto_share"]
            <= loose.metadata["cross_validation"]["auto_share"]
        )
        assert strict.threshold >= loose.threshold


class TestBadTrainingInput:
    def test_one_class_is_refused(self) -> None:
        with pytest.raises(TriageInputError, match="one class"):
            train(["a b", "c d"], ["x", "x"])

    def test_empty_text_is_refused_with_its_row(self) -> None:
        with pytest.raises(TriageInputError, match="row 2"):
            train(["a b", "  ", "c"], ["x", "y", "x"])

    @pytest.mark.parametrize(
        ("labels", "says"),
        [
            (["x", "y"], "one row per class"),
            (["x", "y", "z"], "one row per class"),
            (["x", "x", "x", "y"], "class 'y' has a single row"),
        ],
    )
    def test_too_few_rows_for_cross_validation(self, labels: list[str], says: str) -> None:
        texts = [f"words of case {i}" for i in range(len(labels))]
        with pytest.raises(TriageInputError, match=says):
            train(texts, labels)

    @settings(max_examples=40, database=None)
    @given(counts=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=4))
    def test_a_tiny_history_trains_or_is_refused(self, counts: list[int]) -> None:
        """Whatever the class sizes, an engine or a TriageInputError, never sklearn's."""
        labels = [f"c{k}" for k, n in enumerate(counts) for _ in range(n)]
        texts = [f"case {i} about {label}" for i, label in enumerate(labels)]
        try:
            engine = train(texts, labels)
        except TriageInputError:
            return
        assert set(engine.classes) == set(labels)

    def test_lengths_must_match(self) -> None:
        with pytest.raises(TriageInputError, match="labels"):
            train(["a", "b"], ["x"])

    @pytest.mark.parametrize("text", ["", "   ", "x" * 20_001])
    def test_empty_or_over_long_text_is_refused_at_prediction(
        self, hotline_engine: TrainedEngine, text: str
    ) -> None:
        with pytest.raises(TriageInputError, match="text"):
            hotline_engine.explain_text(text)

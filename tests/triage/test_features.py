"""The hashing featuriser, cross-checked against scikit-learn's analyzers: the n-grams it
counts, the matrix it builds, its model-file state and the names it gives back."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from cogov.triage import (
    CaseView,
    EvidenceKind,
    ModelFileError,
    TrainedEngine,
    load_engine,
    train,
)
from cogov.triage.features import DEFAULT_BITS, HashingTfidf, analyse, hash_ngram, hashed_columns
from cogov.triage.modelfile import MODEL_FILE, dump_state, load_state, write_model_dir

EXAMPLES = [
    "the street light on 5th ave is out",
    "我家楼下的路灯坏了，晚上很黑",
    "路灯 broken 坏了 since Monday，很危险!!",
    "don't... stop-me, now_1 (really?) ²³ ½",
    "emoji 😀 ok😀x 𠀀𠀁 astral",
    "tabs\tand\nnew\r\nlines \u3000 ideographic\u00a0space  ",
    "a b c",
    "",
    "   \t\n ",
    "\x00nul\x00 inside",
]


def _char_analyzer(low: int, high: int) -> Callable[[str], list[str]]:
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(low, high), lowercase=False)
    return vectorizer.build_analyzer()  # type: ignore[no-any-return]


def _word_analyzer(low: int, high: int) -> Callable[[str], list[str]]:
    vectorizer = TfidfVectorizer(
        token_pattern=r"(?u)\b\w+\b", ngram_range=(low, high), lowercase=False
    )
    return vectorizer.build_analyzer()  # type: ignore[no-any-return]


def _same_ngrams_as_sklearn(
    text: str, char_range: tuple[int, int], word_range: tuple[int, int]
) -> None:
    chars, words = analyse(text, char_range, word_range)
    assert Counter(chars) == Counter(_char_analyzer(*char_range)(text))
    assert Counter(words) == Counter(_word_analyzer(*word_range)(text))


class TestNgramsMatchScikitLearn:
    """The featuriser counts exactly the n-grams scikit-learn's analyzers produce."""

    @pytest.mark.parametrize("text", EXAMPLES)
    def test_default_ranges(self, text: str) -> None:
        _same_ngrams_as_sklearn(text, (1, 4), (1, 1))

    @pytest.mark.parametrize("text", EXAMPLES)
    @pytest.mark.parametrize(
        ("char_range", "word_range"), [((2, 4), (1, 2)), ((3, 5), (1, 3)), ((5, 6), (2, 2))]
    )
    def test_other_ranges(
        self, text: str, char_range: tuple[int, int], word_range: tuple[int, int]
    ) -> None:
        # (5, 6): padded words shorter than 5 count once, whole, as char_wb does.
        _same_ngrams_as_sklearn(text, char_range, word_range)

    @settings(max_examples=200, deadline=None)
    @given(
        st.text(
            alphabet=st.one_of(
                st.characters(), st.sampled_from(list(" \t\n\u3000\u00a0中文路灯aé😀_,.-'"))
            ),
            max_size=80,
        )
    )
    def test_any_text(self, text: str) -> None:
        _same_ngrams_as_sklearn(text, (1, 4), (1, 2))

    def test_columns_are_the_reference_hash_of_each_ngram(self) -> None:
        for text in EXAMPLES:
            chars, words = analyse(text)
            char_columns, word_columns = hashed_columns(text)
            assert char_columns == [hash_ngram(gram) for gram in chars]
            assert word_columns == [hash_ngram(gram) for gram in words]


TRAIN = [
    "noise from the party next door, loud music",
    "loud music again at night",
    "pothole on the main street damaged my tyre",
    "large pothole near the school",
    "路灯坏了，晚上很黑",
    "自来水有异味，水质发黄",
]
TEST = [
    "loud party music",
    "pothole 路灯 坏了 unknownword",
    "zzzz qqqq",  # no word seen in training
    "",
]


def _expected(train_docs: list[str], docs: list[str]) -> np.ndarray:
    """The TF-IDF rows scikit-learn's n-grams give when hashed the same way."""
    char_of, word_of = _char_analyzer(1, 4), _word_analyzer(1, 1)
    blocks = [
        lambda text: Counter(hash_ngram(g) for g in char_of(text)),
        lambda text: Counter(hash_ngram(g) for g in word_of(text)),
    ]
    n = len(train_docs)
    vocabularies, idfs = [], []
    for block in blocks:
        frequency: Counter[int] = Counter()
        for text in train_docs:
            frequency.update(set(block(text)))
        vocabulary = sorted(frequency)
        vocabularies.append(vocabulary)
        idfs.append({c: math.log((1 + n) / (1 + frequency[c])) + 1 for c in vocabulary})
    width = sum(len(v) for v in vocabularies)
    rows = np.zeros((len(docs), width))
    for r, text in enumerate(docs):
        offset = 0
        for block, vocabulary, idf in zip(blocks, vocabularies, idfs, strict=True):
            position = {c: i for i, c in enumerate(vocabulary)}
            values = {
                c: (1 + math.log(k)) * idf[c] for c, k in block(text).items() if c in position
            }
            norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
            for c, v in values.items():
                rows[r, offset + position[c]] = v / norm
            offset += len(vocabulary)
    return rows


class TestHashedMatrix:
    """The matrix is TF-IDF (sublinear tf, smooth idf, L2 per block) of those n-grams."""

    def test_equals_the_matrix_built_from_sklearn_ngrams(self) -> None:
        featuriser = HashingTfidf()
        trained = featuriser.fit_transform(TRAIN)
        assert np.allclose(trained.toarray(), _expected(TRAIN, TRAIN), atol=1e-6)
        assert np.allclose(featuriser.transform(TEST).toarray(), _expected(TRAIN, TEST), atol=1e-6)

    def test_only_ngrams_seen_in_training_count(self) -> None:
        featuriser = HashingTfidf()
        featuriser.fit_transform(TRAIN)
        row = featuriser.transform(["zzzz qqqq"])  # only the padding " " was seen
        assert list(featuriser.names("zzzz qqqq", row.indices.astype(np.int64)).values()) == [
            "c__ "
        ]
        assert featuriser.transform([""]).nnz == 0

    def test_a_batch_gives_the_rows_of_one_text_at_a_time_exactly(self) -> None:
        featuriser = HashingTfidf()
        featuriser.fit_transform(TRAIN)
        batch = featuriser.transform(TRAIN + TEST)
        for i, text in enumerate(TRAIN + TEST):
            one = featuriser.transform([text])
            assert np.array_equal(one.indices, batch[i].indices)
            assert np.array_equal(one.data, batch[i].data)

    def test_large_batches_are_split_into_chunks_without_changing_rows(self) -> None:
        featuriser = HashingTfidf(bits=20)  # 2**11 documents per chunk
        featuriser.fit_transform(TRAIN)
        many = [TRAIN[i % len(TRAIN)] + f" {i}" for i in range(5000)]
        batch = featuriser.transform(many)
        for i in (0, 2047, 2048, 4999):
            one = featuriser.transform([many[i]])
            assert np.array_equal(one.toarray(), batch[i].toarray())

    def test_bad_ranges_are_refused(self) -> None:
        with pytest.raises(ValueError, match="char_ngrams"):
            HashingTfidf(char_range=(0, 4))


class TestModelFileState:
    """The featuriser's state is plain arrays and numbers that skops stores safely."""

    def test_round_trip_through_skops(self, tmp_path: Path) -> None:
        featuriser = HashingTfidf(word_range=(1, 2))
        featuriser.fit_transform(TRAIN)
        state = load_state(dump_state({"featuriser": featuriser.state()}), source=tmp_path)
        loaded = HashingTfidf.from_state(state["featuriser"])
        assert loaded.word_range == (1, 2)
        assert loaded.bits == DEFAULT_BITS
        assert np.array_equal(
            loaded.transform(TEST).toarray(), featuriser.transform(TEST).toarray()
        )

    def test_a_damaged_state_is_refused(self) -> None:
        featuriser = HashingTfidf()
        featuriser.fit_transform(TRAIN)
        state = featuriser.state()
        with pytest.raises(ValueError, match="differ in length"):
            HashingTfidf.from_state({**state, "char_idf": state["char_idf"][:-1]})
        with pytest.raises(ValueError, match="outside the hash space"):
            HashingTfidf.from_state({**state, "word_columns": state["word_columns"] + (1 << 30)})

    def test_a_schema_1_model_asks_to_be_retrained(self, tmp_path: Path) -> None:
        write_model_dir(tmp_path, {MODEL_FILE: dump_state({"schema": 1})}, {})
        with pytest.raises(ModelFileError, match="retrain the model"):
            load_engine(tmp_path)


class TestExplanationNames:
    """Hashed columns are named by the n-grams of the text being explained."""

    def test_names_are_ngrams_of_the_text_that_hash_to_the_column(self) -> None:
        featuriser = HashingTfidf()
        featuriser.fit_transform(TRAIN)
        for text in TEST[:2]:
            row = featuriser.transform([text])
            names = featuriser.names(text, row.indices.astype(np.int64))
            assert set(names) == set(row.indices.tolist())
            n_char = len(featuriser.char_columns)
            for column, name in names.items():
                kind, gram = name[:3], name[3:]
                chars, words = analyse(text)
                if column < n_char:
                    assert kind == "c__"
                    assert gram in chars
                    assert featuriser.char_columns[column] == hash_ngram(gram)
                else:
                    assert kind == "w__"
                    assert gram in words
                    assert featuriser.word_columns[column - n_char] == hash_ngram(gram)

    def test_english_explanations_name_whole_words(self) -> None:
        engine = train(
            [
                "loud music from the party next door",
                "noise from loud music all night",
                "pothole in the road damaged my tyre",
                "large pothole on the main street",
            ]
            * 3,
            (["NYPD"] * 2 + ["DOT"] * 2) * 3,
        )
        proposal = engine.explain_text("Loud MUSIC upstairs tonight")
        tokens = [e.label for e in proposal.explanation.evidence if e.kind is EvidenceKind.TOKEN]
        assert tokens
        assert set(tokens) <= {"loud", "music", "upstairs", "tonight"}

    def test_chinese_explanations_name_characters_of_the_text(
        self, hotline_engine: TrainedEngine
    ) -> None:
        text = "路灯坏了，晚上一片漆黑"
        proposal = hotline_engine.explain_text(text)
        tokens = [e.label for e in proposal.explanation.evidence if e.kind is EvidenceKind.TOKEN]
        assert tokens
        for token in tokens:
            assert token in text
            assert "，" not in token


class TestPreparedBatch:
    """A prepared batch is explained without per-case work and exactly as one alone."""

    def test_prepared_explanations_equal_unprepared_ones(
        self, hotline_engine: TrainedEngine
    ) -> None:
        texts = ["路灯坏了", "自来水发黄，有异味", "路灯坏了", "出租车拒载"]
        alone = [hotline_engine.explain_text(text) for text in texts]
        hotline_engine.prepare(
            [CaseView(case_id=str(i), description=t) for i, t in enumerate(texts)]
        )
        try:
            assert [hotline_engine.explain_text(text) for text in texts] == alone
        finally:
            hotline_engine.prepare([])

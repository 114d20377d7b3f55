"""Hashing TF-IDF over words and character n-grams, computed for a whole batch at once.

The default engine reads text through two blocks of features, the same as
scikit-learn's ``TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4))`` and
``TfidfVectorizer(token_pattern=r"(?u)\\b\\w+\\b")`` side by side, each L2-normalised
on its own, with sublinear tf (``1 + log tf``) and smooth idf. scikit-learn builds
them one n-gram at a time in Python; here the batch's texts become one array of
code points and every n-gram's hash comes from a few numpy operations over it:

- each whitespace-separated word is laid out as ``" word "`` (char_wb's padding),
  end to end, so a window of ``n`` code points that stays inside a padded word is
  exactly one of char_wb's n-grams;
- a window's hash is the polynomial ``sum(c[i + j] * BASE**j)`` (wrapping uint64),
  built for every window length from the one before; a word's hash comes from
  the prefix sums of the same polynomial (an odd base is invertible mod 2**64);
- the hash and the n-gram's length are mixed and the top ``bits`` bits name the
  hashed column; (document, column) pairs are counted by one sort (polars').

Only hashed columns seen in training are kept (scikit-learn likewise drops n-grams
outside its vocabulary); they are numbered in hash order, characters first, so the
matrix has one column per seen hashed n-gram. A column cannot be turned back into
its n-gram, so explanations ask :meth:`HashingTfidf.names` for the n-grams of the
one text being explained that land in the wanted columns.

The state is plain numpy arrays and numbers (see :meth:`HashingTfidf.state`), which
skops stores without any code.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from numpy.typing import NDArray

U64 = NDArray[np.uint64]
I64 = NDArray[np.int64]

BASE = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2**64
INVERSE_BASE = pow(BASE, -1, 1 << 64)
_LENGTH_MIX = 0xD6E8FEB86659FD93  # odd; keeps "a" and "a\0" apart
_FINAL_MIX = 0xBF58476D1CE4E5B9  # splitmix64's multiplier
DEFAULT_BITS = 22  # hashed columns per block (4,194,304)
_PAIR_BITS = 32  # (document, column) keys are uint32 within one chunk
# Code points per chunk: bounds memory on large histories. Small enough that a chunk's
# ~4 keys per code point (and the arrays beside them) stay in the CPU's cache; with
# numpy's sort that made predictions ~30 % faster than 2**21, with polars' sort the
# size matters little (within 5 % from 2**14 to 2**21 on CFPB and SF311).
_CHUNK_CODES = 1 << 15

_MASK64 = (1 << 64) - 1
_HIGH_HALF = 1 if sys.byteorder == "little" else 0  # the high uint32 of a uint64

_OTHER, _WORD, _SPACE = 0, 1, 2
_PAD = 32  # " "


_UNKNOWN = 255


def _classify(characters: str) -> NDArray[np.uint8]:
    """\\w (re's word characters, what sklearn's token pattern matches), white space
    (what str.split splits on), or other, for each character."""
    kept = re.sub(r"\W", "\0", characters)
    classes = np.where(code_points(kept) != 0, _WORD, _OTHER).astype(np.uint8)
    classes[[i for i, ch in enumerate(characters) if ch.isspace()]] = _SPACE
    return classes


@cache
def _class_table() -> NDArray[np.uint8]:
    """Every code point's class: the Basic Multilingual Plane at once, the rest on
    first sight (building all 1.1 million would cost a second per process)."""
    table = np.full(0x110000, _UNKNOWN, dtype=np.uint8)
    table[:0x10000] = _classify("".join(map(chr, range(0x10000))))
    return table


def _classes(codes: NDArray[np.uint32]) -> NDArray[np.uint8]:
    table = _class_table()
    classes = table[codes]
    unknown = classes == _UNKNOWN
    if unknown.any():
        new = np.unique(codes[unknown])
        table[new] = _classify("".join(map(chr, new.tolist())))
        classes = table[codes]
    return classes


def code_points(text: str) -> NDArray[np.uint32]:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _finish(
    hashes: U64, lengths: U64 | int, bits: int, keys: NDArray[np.uint32]
) -> NDArray[np.uint32]:
    """``keys | column``, the column being the top ``bits`` bits of the polynomial hash
    mixed with the n-gram's length (multiplicative hashing: every bit of the sum
    reaches the top bits). ``hashes`` is overwritten."""
    if isinstance(lengths, int):
        hashes += np.uint64((_LENGTH_MIX * lengths) & _MASK64)
    else:
        hashes += np.uint64(_LENGTH_MIX) * lengths
    hashes *= np.uint64(_FINAL_MIX)
    column = hashes.view(np.uint32)[_HIGH_HALF::2] >> np.uint32(32 - bits)
    column |= keys
    return column


def hash_ngram(ngram: str, bits: int = DEFAULT_BITS) -> int:
    """The hashed column of one n-gram, in plain Python (the reference for the tests)."""
    mask = (1 << 64) - 1
    value = 0
    for code in reversed(code_points(ngram).tolist()):
        value = (value * BASE + code) & mask
    mixed = (value + _LENGTH_MIX * len(code_points(ngram))) & mask
    return ((mixed * _FINAL_MIX) & mask) >> (64 - bits)


@dataclass(slots=True)
class HashedNgrams:
    """Every n-gram of a batch as one key ``document << (bits + 1) | block << bits |
    hashed column`` (documents numbered within the batch; block 0: characters, 1:
    words), characters first; and, on request, where each one is."""

    keys: NDArray[np.uint32]
    n_char: int
    places: NgramPlaces | None = None


@dataclass(frozen=True, slots=True)
class NgramPlaces:
    """Where each n-gram of :class:`HashedNgrams` is, in the padded words laid end to end."""

    padded: NDArray[np.uint32]
    char_start: I64
    char_len: I64
    token_start: I64
    token_end: I64
    word_first: I64  # first token of each word n-gram
    word_n: I64


def hashed_ngrams(
    texts: Sequence[str],
    char_range: tuple[int, int],
    word_range: tuple[int, int],
    bits: int,
    *,
    where: bool = False,
) -> HashedNgrams:
    """The char_wb and word n-grams of ``texts`` (hashed), all documents at once."""
    lengths = np.fromiter((len(text) for text in texts), dtype=np.int64, count=len(texts))
    codes = code_points(" ".join(texts))  # the joining space keeps words of two texts apart
    doc_start = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=doc_start[1:])

    # Whitespace-separated words, laid out as " word " end to end.
    solid = np.zeros(len(codes) + 2, dtype=np.int8)
    solid[1:-1] = _classes(codes) != _SPACE
    edges = np.diff(solid)
    starts = np.flatnonzero(edges == 1)
    word_len = np.flatnonzero(edges == -1) - starts
    padded_start = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(word_len + 2, out=padded_start[1:])
    total = int(padded_start[-1])
    # A word character's place: the word characters before it, plus two pads per word
    # before it and one for its own word.
    solid_chars = solid[1:-1].view(np.bool_)
    place = np.cumsum(edges[:-1] == 1, dtype=np.int64)
    place *= 2
    place += np.cumsum(solid_chars, dtype=np.int64)
    place -= 2
    padded = np.full(total, _PAD, dtype=np.uint32)
    padded[place[solid_chars]] = codes[solid_chars]
    word_start = np.zeros(total + 1, dtype=np.bool_)
    word_start[padded_start] = True
    # Each position's document, already shifted into a key: + 1 << (bits + 1) at each
    # document's first padded word (documents without words add at the same place).
    first_word = np.searchsorted(starts, doc_start[1:])
    position_key = np.zeros(total, dtype=np.uint32)
    np.add.at(position_key, padded_start[first_word[first_word < len(starts)]], 2 << bits)
    np.cumsum(position_key, out=position_key)

    char_keys: list[NDArray[np.uint32]] = []
    char_starts: list[I64] = []
    char_lens: list[I64] = []
    wide = padded.astype(np.uint64)
    window = wide.copy()  # window[i]: the hash of the n code points from i
    scratch = np.empty(total, dtype=np.uint64)
    fits = np.ones(total, dtype=np.bool_)  # the window from i stays inside its word
    inner = ~word_start[:total]
    low, high = char_range
    for n in range(1, high + 1):
        size = total - n + 1
        if size <= 0:
            break
        if n > 1:
            np.multiply(wide[n - 1 :], np.uint64(pow(BASE, n - 1, 1 << 64)), out=scratch[:size])
            np.add(window[:size], scratch[:size], out=window[:size])
            np.logical_and(fits[:size], inner[n - 1 :], out=fits[:size])
        if n < low:
            # char_wb counts a padded word shorter than the smallest n once, whole.
            chosen = padded_start[:-1][np.diff(padded_start) == n]
            hashes, key_base = window[chosen], position_key[chosen]
        else:
            hashes, key_base = window[:size][fits[:size]], position_key[:size][fits[:size]]
            if where:
                chosen = np.flatnonzero(fits[:size])
        char_keys.append(_finish(hashes, n, bits, key_base))
        if where:
            char_starts.append(chosen)
            char_lens.append(np.full(len(chosen), n, dtype=np.int64))

    # Words: maximal runs of \w (what r"(?u)\b\w+\b" finds), inside the padded words.
    wordy = np.zeros(total + 2, dtype=np.int8)
    wordy[1:-1] = _classes(padded) == _WORD
    token_edges = np.diff(wordy)
    token_start = np.flatnonzero(token_edges == 1)
    token_end = np.flatnonzero(token_edges == -1)
    powers = np.empty(total + 1, dtype=np.uint64)
    powers[0] = 1
    np.cumprod(np.full(total, BASE, dtype=np.uint64), out=powers[1:])
    inverse = np.empty(total + 1, dtype=np.uint64)
    inverse[0] = 1
    np.cumprod(np.full(total, INVERSE_BASE, dtype=np.uint64), out=inverse[1:])
    prefix = np.zeros(total + 1, dtype=np.uint64)
    np.cumsum(wide * powers[:-1], out=prefix[1:])
    token_hash = (prefix[token_end] - prefix[token_start]) * inverse[token_start]
    token_len = (token_end - token_start).astype(np.uint64)
    token_key = position_key[token_start] | np.uint32(1 << bits)

    word_keys: list[NDArray[np.uint32]] = []
    word_firsts: list[I64] = []
    word_ns: list[I64] = []
    joined, joined_len = token_hash, token_len
    low, high = word_range
    for n in range(1, high + 1):
        if n > 1:
            # "a b" from "a" and "b": h(a) + h(" ") * B**len(a) + h(b) * B**(len(a) + 1)
            shift = powers[joined_len[:-1].astype(np.int64)]
            joined = joined[:-1] + (np.uint64(_PAD) + token_hash[n - 1 :] * np.uint64(BASE)) * shift
            joined_len = joined_len[:-1] + np.uint64(1) + token_len[n - 1 :]
        if n < low:
            continue
        reach = max(0, len(token_key) - n + 1)
        chosen = np.flatnonzero(
            (token_key[:reach] >> np.uint32(bits + 1))
            == (token_key[n - 1 : n - 1 + reach] >> np.uint32(bits + 1))
        )
        word_keys.append(_finish(joined[chosen], joined_len[chosen], bits, token_key[chosen]))
        if where:
            word_firsts.append(chosen)
            word_ns.append(np.full(len(chosen), n, dtype=np.int64))

    def cat(parts: list[Any], dtype: type) -> Any:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    n_char = sum(len(part) for part in char_keys)
    grams = HashedNgrams(keys=cat(char_keys + word_keys, np.uint32), n_char=n_char)
    if where:
        grams.places = NgramPlaces(
            padded=padded,
            char_start=cat(char_starts, np.int64),
            char_len=cat(char_lens, np.int64),
            token_start=token_start,
            token_end=token_end,
            word_first=cat(word_firsts, np.int64),
            word_n=cat(word_ns, np.int64),
        )
    return grams


def _count(keys: NDArray[np.uint32], bits: int) -> tuple[I64, I64, I64]:
    """Distinct keys in order, as (document, block << bits | hashed column, count)."""
    # polars sorts these uint32 keys in about half numpy's time (11 against 24 ns a key
    # on one core, CFPB narratives); the sort is over half of a long text's prediction.
    keys = pl.Series(keys).sort().to_numpy()
    if len(keys) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    first = np.empty(len(keys), dtype=bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    at = np.flatnonzero(first)
    counts = np.diff(at, append=len(keys))
    distinct = keys[at]
    rows = (distinct >> np.uint32(bits + 1)).astype(np.int64)
    columns = (distinct & np.uint32((2 << bits) - 1)).astype(np.int64)
    return rows, columns, counts


def chunk_bounds(texts: Sequence[str], bits: int) -> list[tuple[int, int]]:
    """Runs of documents small enough for uint32 keys, and bounded in memory."""
    most_docs = 1 << (_PAIR_BITS - bits - 1)
    bounds: list[tuple[int, int]] = []
    start, codes = 0, 0
    for i, text in enumerate(texts):
        if i > start and (i - start >= most_docs or codes + len(text) > _CHUNK_CODES):
            bounds.append((start, i))
            start, codes = i, 0
        codes += len(text) + 1
    bounds.append((start, len(texts)))
    return bounds


@dataclass(slots=True, eq=False)
class HashingTfidf:
    """Words and char_wb n-grams, hashed; TF-IDF per block as scikit-learn computes it."""

    char_range: tuple[int, int] = (1, 4)
    word_range: tuple[int, int] = (1, 1)
    bits: int = DEFAULT_BITS
    n_documents: int = 0
    # Hashed columns seen in training (sorted) and their idf, per block.
    char_columns: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    char_idf: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    word_columns: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    word_idf: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    # Built on first use: (block << bits | hashed column) -> feature column or -1; idf.
    _lookup: NDArray[np.int32] | None = field(default=None, repr=False)
    _idf: NDArray[np.float64] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name, (low, high) in (
            ("char_ngrams", self.char_range),
            ("word_ngrams", self.word_range),
        ):
            if not 1 <= low <= high:
                raise ValueError(f"{name}: needs 1 <= min <= max, got ({low}, {high})")
        if not 8 <= self.bits <= 24:
            raise ValueError(f"bits: {self.bits} is outside 8..24")

    @property
    def n_features(self) -> int:
        return len(self.char_columns) + len(self.word_columns)

    def _counts(self, texts: Sequence[str]) -> list[tuple[int, I64, I64, I64]]:
        """Per chunk of documents: its first row and its distinct keys with counts."""
        counted = []
        for start, end in chunk_bounds(texts, self.bits):
            grams = hashed_ngrams(texts[start:end], self.char_range, self.word_range, self.bits)
            counted.append((start, *_count(grams.keys, self.bits)))
        return counted

    def lookup_tables(self) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
        if self._lookup is None or self._idf is None:
            lookup = np.full(2 << self.bits, -1, dtype=np.int32)
            n_char = len(self.char_columns)
            lookup[self.char_columns] = np.arange(n_char, dtype=np.int32)
            lookup[self.word_columns + (1 << self.bits)] = np.arange(
                n_char, self.n_features, dtype=np.int32
            )
            self._lookup = lookup
            self._idf = np.concatenate([self.char_idf, self.word_idf])
        return self._lookup, self._idf

    def _matrix(self, counted: list[tuple[int, I64, I64, I64]], n_rows: int) -> sp.csr_matrix:
        """Known columns only, as (1 + log tf) * idf, each row's blocks L2-normalised."""
        lookup, idf = self.lookup_tables()
        rows_parts, columns_parts, values_parts = [], [], []
        for start, rows, hashed, counts in counted:
            columns = lookup[hashed]
            known = columns >= 0
            rows, columns, counts = rows[known], columns[known], counts[known]
            values = _sublinear(counts)
            values *= idf[columns]
            # One norm per row and block: the word block starts at len(char_columns).
            block = rows * 2
            block += columns >= len(self.char_columns)
            norms = np.sqrt(np.bincount(block, weights=values * values))
            values /= norms[block]
            rows_parts.append(rows + start)
            columns_parts.append(columns)
            values_parts.append(values)
        rows = np.concatenate(rows_parts)
        indptr = np.zeros(n_rows + 1, dtype=np.int32)
        np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
        return sp.csr_matrix(
            (
                np.concatenate(values_parts).astype(np.float32),
                np.concatenate(columns_parts),
                indptr,
            ),
            shape=(n_rows, self.n_features),
        )

    # -- fitting and transforming ---------------------------------------------------
    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Learn which hashed columns occur and their idf; the training matrix."""
        counted = self._counts(texts)
        n = len(texts)
        frequency = np.bincount(
            np.concatenate([hashed for _start, _rows, hashed, _counts in counted]),
            minlength=2 << self.bits,
        )
        idf = np.log((1.0 + n) / (1.0 + frequency)) + 1.0
        size = 1 << self.bits
        self.n_documents = n
        self.char_columns = np.flatnonzero(frequency[:size]).astype(np.int64)
        self.char_idf = idf[self.char_columns]
        self.word_columns = np.flatnonzero(frequency[size:]).astype(np.int64)
        self.word_idf = idf[self.word_columns + size]
        self._lookup = self._idf = None
        return self._matrix(counted, n)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Rows for ``texts`` (already normalised), float32, columns as at fit."""
        return self._matrix(self._counts(texts), len(texts))

    # -- names for explanations -----------------------------------------------------
    def names(self, text: str, columns: I64) -> dict[int, str]:
        """What each wanted feature column stands for in ``text``: ``"c__ noi"`` for a
        character n-gram, ``"w__street"`` for a word. A column the text does not
        produce is left out; when two n-grams of the text share a column (a hash
        collision), the first one in the text names it."""
        grams = hashed_ngrams([text], self.char_range, self.word_range, self.bits, where=True)
        lookup, _idf = self.lookup_tables()
        columns_of = lookup[grams.keys]  # one document: its keys are block | column
        wanted = np.isin(columns_of, columns)
        found, first = np.unique(columns_of[wanted], return_index=True)
        where = np.flatnonzero(wanted)[first]
        name = _namer(grams)
        return {int(column): name(int(at)) for column, at in zip(found, where, strict=True)}

    # -- state ------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Plain values and arrays only (what a model file stores)."""
        return {
            "kind": "hashing-tfidf",
            "char_range": list(self.char_range),
            "word_range": list(self.word_range),
            "bits": self.bits,
            "n_documents": self.n_documents,
            "char_columns": self.char_columns,
            "char_idf": self.char_idf,
            "word_columns": self.word_columns,
            "word_idf": self.word_idf,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> HashingTfidf:
        """The featuriser a :meth:`state` describes; ValueError/TypeError/KeyError if not."""
        if state.get("kind") != "hashing-tfidf":
            raise ValueError(f"featuriser kind {state.get('kind')!r}")
        char_low, char_high = (int(v) for v in state["char_range"])
        word_low, word_high = (int(v) for v in state["word_range"])
        featuriser = cls(
            char_range=(char_low, char_high),
            word_range=(word_low, word_high),
            bits=int(state["bits"]),
            n_documents=int(state["n_documents"]),
            char_columns=np.asarray(state["char_columns"], dtype=np.int64),
            char_idf=np.asarray(state["char_idf"], dtype=np.float64),
            word_columns=np.asarray(state["word_columns"], dtype=np.int64),
            word_idf=np.asarray(state["word_idf"], dtype=np.float64),
        )
        size = 1 << featuriser.bits
        for block in ("char", "word"):
            columns = getattr(featuriser, f"{block}_columns")
            if len(columns) != len(getattr(featuriser, f"{block}_idf")):
                raise ValueError(f"{block}: columns and idf differ in length")
            if len(columns) and (columns.min() < 0 or columns.max() >= size):
                raise ValueError(f"{block}: a column outside the hash space")
        return featuriser


@cache
def _log_table(size: int) -> NDArray[np.float64]:
    table = np.zeros(size)
    table[1:] = np.log(np.arange(1, size)) + 1.0
    return table


def _sublinear(counts: I64) -> NDArray[np.float64]:
    """1 + log(count), from a table for the usual small counts."""
    if len(counts) and counts.max() < 4096:
        return _log_table(4096)[counts]
    return np.log(counts) + 1.0


def _text(codes: NDArray[np.uint32]) -> str:
    return codes.tobytes().decode("utf-32-le", "surrogatepass")


def _namer(grams: HashedNgrams) -> Callable[[int], str]:
    """Names for the n-grams of ``grams``: ``"c__ noi"`` or ``"w__street"``."""
    places = grams.places
    if places is None:
        raise ValueError("n-gram places were not asked for")
    padded = _text(places.padded)
    char_start, char_len = places.char_start, places.char_len
    token_start, token_end = places.token_start, places.token_end
    word_first, word_n = places.word_first, places.word_n

    def name(at: int) -> str:
        if at < grams.n_char:
            start = int(char_start[at])
            return "c__" + padded[start : start + int(char_len[at])]
        first = int(word_first[at - grams.n_char])
        tokens = range(first, first + int(word_n[at - grams.n_char]))
        return "w__" + " ".join(padded[token_start[t] : token_end[t]] for t in tokens)

    return name


def analyse(
    text: str, char_range: tuple[int, int] = (1, 4), word_range: tuple[int, int] = (1, 1)
) -> tuple[list[str], list[str]]:
    """Every character n-gram and word n-gram the featuriser counts in ``text``, as
    strings (for inspection and tests: scikit-learn's analyzers give the same lists)."""
    grams = hashed_ngrams([text], char_range, word_range, DEFAULT_BITS, where=True)
    name = _namer(grams)
    names = [name(at) for at in range(len(grams.keys))]
    return [name[3:] for name in names[: grams.n_char]], [
        name[3:] for name in names[grams.n_char :]
    ]


def hashed_columns(
    text: str, char_range: tuple[int, int] = (1, 4), word_range: tuple[int, int] = (1, 1)
) -> tuple[list[int], list[int]]:
    """The hashed columns of :func:`analyse`'s n-grams, in the same order."""
    grams = hashed_ngrams([text], char_range, word_range, DEFAULT_BITS)
    columns = (grams.keys & np.uint32((1 << DEFAULT_BITS) - 1)).astype(np.int64).tolist()
    return columns[: grams.n_char], columns[grams.n_char :]

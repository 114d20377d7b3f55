"""Readable names for the features behind an explanation.

A hashed column cannot be turned back into its n-gram, so the texts being explained
are hashed again with the places of their n-grams, and each wanted (text, column)
is named by the first n-gram of that text landing in it, as a person would read it:
without punctuation at its edges, and a character n-gram of a spaced word widened to
that word ("noi" -> "noise"); Chinese characters stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cogov.triage.features import HashingTfidf, chunk_bounds, code_points, hashed_ngrams
from cogov.triage.text import EDGE_CHARACTERS, strip_edges, word_finder


def readable_names(
    featuriser: HashingTfidf,
    documents: Sequence[str],
    rows: NDArray[Any],
    columns: NDArray[Any],
    ids: dict[str, int],
) -> NDArray[np.int64]:
    """What a person should read for feature ``columns[i]`` of ``documents[rows[i]]``
    (``rows`` ascending), as its number in ``ids`` (new names are added; -1: nothing):
    the first n-gram of that text landing in the column, without the punctuation at
    its edges, and a character n-gram of word characters, not Chinese, widened to the
    first spaced word containing it.

    The texts' n-grams are hashed again with their places, a batch at a time, and
    each wanted (text, column) finds its first n-gram with one sort; n-grams naming
    the same span of a text are named once."""
    names = np.full(len(rows), -1, dtype=np.int64)
    lookup, _idf = featuriser.lookup_tables()
    bits, width = featuriser.bits, max(1, featuriser.n_features)
    for start, end in chunk_bounds(documents, bits):
        low, high = np.searchsorted(rows, [start, end])
        if low == high:
            continue
        grams = hashed_ngrams(
            documents[start:end],
            featuriser.char_range,
            featuriser.word_range,
            bits,
            where=True,
        )
        places = grams.places
        assert places is not None
        feature = lookup[grams.keys & np.uint32((2 << bits) - 1)].astype(np.int64)
        known = np.flatnonzero(feature >= 0)
        pairs = (grams.keys[known] >> np.uint32(bits + 1)).astype(np.int64) * width
        pairs += feature[known]
        distinct, first = np.unique(pairs, return_index=True)  # first n-gram of each
        if len(distinct) == 0:
            continue
        wanted = (rows[low:high] - start) * width + columns[low:high]
        found = np.minimum(np.searchsorted(distinct, wanted), len(distinct) - 1)
        produced = distinct[found] == wanted  # a column the text has no n-gram for: None
        gram = known[first[found]]
        padded = places.padded.tobytes().decode("utf-32-le", "surrogatepass")
        # Per place: the nearest kept character (not an edge character) at or after
        # it, and at or before it; so an n-gram's stripped span is two look-ups.
        kept = code_points(EDGE_CHARACTERS.sub("\0", padded)) != 0
        at = np.arange(len(padded))
        next_kept = np.minimum.accumulate(np.where(kept, at, len(padded))[::-1])[::-1]
        last_kept = np.maximum.accumulate(np.where(kept, at, -1))
        # Running counts of Chinese and of non-word characters, to test any span.
        codes = places.padded
        chinese = np.zeros(len(padded) + 1, dtype=np.int64)
        np.cumsum(_cjk_mask(codes), out=chinese[1:])
        other = np.zeros(len(padded) + 1, dtype=np.int64)
        np.cumsum(code_points(_NOT_WORD.sub("\0", padded)) == 0, out=other[1:])

        # Each n-gram's span in ``padded``: a character n-gram's window, or the first
        # word of a word n-gram (names of several words are joined below).
        is_char = gram < grams.n_char
        chars, words = np.flatnonzero(is_char), np.flatnonzero(~is_char)
        span_start = np.empty(len(gram), dtype=np.int64)
        span_end = np.empty(len(gram), dtype=np.int64)
        span_start[chars] = places.char_start[gram[chars]]
        span_end[chars] = span_start[chars] + places.char_len[gram[chars]]
        word_gram = gram[words] - grams.n_char
        span_start[words] = places.token_start[places.word_first[word_gram]]
        span_end[words] = places.token_end[places.word_first[word_gram]]
        single = is_char | ~produced
        single[words] |= places.word_n[word_gram] == 1
        name_start = next_kept[span_start]
        name_end = last_kept[span_end - 1] + 1
        empty = (name_start >= span_end) | ~produced
        safe_start, safe_end = np.where(empty, 0, name_start), np.where(empty, 0, name_end)
        widen = (
            is_char
            & ~empty
            & (chinese[safe_end] == chinese[safe_start])
            & (other[safe_end] == other[safe_start])
        )
        # An n-gram with nothing stripped is the first occurrence of its characters in
        # the text (an earlier one would be an earlier n-gram in the same column), so
        # when the word around it has no Chinese, that word is the first containing it.
        token = np.maximum(np.searchsorted(places.token_start, safe_start, side="right") - 1, 0)
        whole = widen & (name_start == span_start) & (name_end == span_end)
        if len(places.token_start):
            token_start, token_end = places.token_start[token], places.token_end[token]
            whole &= chinese[token_end] == chinese[token_start]
            safe_start = np.where(whole, token_start, safe_start)
            safe_end = np.where(whole, token_end, safe_end)
            widen &= ~whole
        for i in np.flatnonzero(~single).tolist():  # names of several words: "street sign"
            w = int(gram[i]) - grams.n_char
            first_word = int(places.word_first[w])
            joined = " ".join(
                padded[places.token_start[t] : places.token_end[t]]
                for t in range(first_word, first_word + int(places.word_n[w]))
            )
            name = strip_edges(joined)
            names[low + i] = ids.setdefault(name, len(ids)) if name else -1
        spans = np.flatnonzero(single & ~empty)
        span_keys = (safe_start[spans] * (len(padded) + 1) + safe_end[spans]) * 2 + widen[spans]
        _distinct, at, inverse = np.unique(span_keys, return_index=True, return_inverse=True)
        chosen = spans[at]
        span_ids = np.empty(len(chosen), dtype=np.int64)
        finders: dict[int, Callable[[str], str]] = {}
        for j, (row, a, b, wide) in enumerate(
            zip(
                rows[low:high][chosen].tolist(),
                safe_start[chosen].tolist(),
                safe_end[chosen].tolist(),
                widen[chosen].tolist(),
                strict=True,
            )
        ):
            name = padded[a:b]
            if wide:
                finder = finders.get(row)
                if finder is None:
                    finder = finders[row] = word_finder(documents[row])
                name = finder(name)
            span_ids[j] = ids.setdefault(name, len(ids))
        names[low + spans] = span_ids[inverse.reshape(-1)]
    return names


_NOT_WORD = re.compile(r"\W")


def _cjk_mask(codes: NDArray[np.uint32]) -> NDArray[np.bool_]:
    """Chinese characters (the ranges of ``text.has_cjk``)."""
    return (
        ((codes >= 0x3400) & (codes <= 0x4DBF))
        | ((codes >= 0x4E00) & (codes <= 0x9FFF))
        | ((codes >= 0xF900) & (codes <= 0xFAFF))
    )


def merge_overlaps(names: list[str], weights: list[float], limit: int) -> list[tuple[str, float]]:
    """Names ranked by weight, strongest first, merged where one contains another
    ("sign" and "street sign", "危险" and "很危险": one piece of evidence, kept by the
    stronger name with the weaker one's weight added); at most ``limit`` kept."""
    chosen: list[list[Any]] = []
    for name, weight in zip(names, weights, strict=True):
        for kept in chosen:
            if name in kept[0] or kept[0] in name:
                kept[1] += weight
                break
        else:
            if len(chosen) < limit:
                chosen.append([name, weight])
    merged = [(str(name), float(weight)) for name, weight in chosen]
    return sorted(merged, key=lambda item: -item[1])

"""Plain text handling shared by every engine: normalisation, language, limits.

Nothing here assumes a language: Chinese (no spaces between words) is handled by
character n-grams downstream, so this module only makes text comparable.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from itertools import accumulate

from cogov.triage.errors import TriageInputError

# Longest text an engine accepts for one case (a long complaint letter is ~10k chars).
MAX_TEXT_CHARS = 20_000

_SPACES = re.compile(r"\s+")
# CJK Unified Ideographs (+ extension A) and CJK punctuation / full-width forms.
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def normalise(text: str) -> str:
    """NFKC (full-width to half-width), case-folded, white space collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def detect_language(text: str) -> str:
    """ "zh" when a fair share of the letters are Chinese characters, else "en".

    A cheap, dependency-free guess that is right for the two languages cogov ships
    templates for; the case's own ``language`` field wins when it is set.
    """
    letters = sum(1 for ch in text if ch.isalpha())
    if letters == 0:
        return "en"
    return "zh" if len(_CJK.findall(text)) / letters >= 0.2 else "en"


def check_text(text: str, *, field: str = "text", max_chars: int = MAX_TEXT_CHARS) -> str:
    """Return ``text`` if an engine can read it; refuse empty or over-long text."""
    if not text or not text.strip():
        raise TriageInputError(field, "is empty; give the words of the request")
    if len(text) > max_chars:
        raise TriageInputError(
            field, f"is {len(text):,} characters long; the limit is {max_chars:,}"
        )
    return text


def join_fields(parts: Iterable[str | None]) -> str:
    """Join several text columns into one document (blank parts dropped)."""
    return " \n ".join(part.strip() for part in parts if part and part.strip())


def case_text(description: str, extra_text: Mapping[str, str], columns: Iterable[str]) -> str:
    """The document an engine trained on ``columns`` reads for one case.

    ``description`` comes first; then every trained column found in ``extra_text``
    (by name), so a case carries the same fields the history had.
    """
    seen = {description.strip()}
    parts = [description]
    for column in columns:
        value = extra_text.get(column)
        if value and value.strip() not in seen:
            parts.append(value)
            seen.add(value.strip())
    return join_fields(parts)


_WORD = re.compile(r"\w+")
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
# What names nothing a person said at the edges of an n-gram ("了,"): not \w, or "_".
EDGE_CHARACTERS = re.compile(r"[\W_]")


def strip_edges(ngram: str) -> str:
    """An n-gram without the punctuation, white space and "_" at its edges."""
    return _EDGES.sub("", ngram)


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def word_finder(document: str) -> Callable[[str], str]:
    """For one (normalised) text: what a person should read for a character n-gram
    ``name`` of it that is all word characters and not Chinese: the first spaced,
    non-Chinese word of the text that contains it ("noi" -> "noise"), else ``name``.

    The words are joined by NUL (which no word character equals), so one ``find``
    replaces a loop over the words."""
    words = [word for word in _WORD.findall(document) if not has_cjk(word)]
    joined = "\0".join(words)
    starts = list(accumulate((len(word) + 1 for word in words[:-1]), initial=0))
    found: dict[str, str] = {}

    def widen(name: str) -> str:
        word = found.get(name)
        if word is None:
            at = joined.find(name)
            word = name if at < 0 else words[bisect_right(starts, at) - 1]
            found[name] = word
        return word

    return widen

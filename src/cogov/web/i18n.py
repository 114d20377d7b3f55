"""Languages of the web UI: which ones exist, which one a visitor gets, and the
compiled gettext catalogues.

The catalogues are the ``.po`` files in ``web/locale`` (kept in git, edited by
translators). They are compiled to ``.mo`` form in memory the first time a language
is used, so a fresh checkout needs no build step and a stale ``.mo`` can never be
served. A visitor's language is, in order: the ``cogov_lang`` cookie set by the
language switch, then the best match in ``Accept-Language``, then English.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
LANGUAGE_COOKIE = "cogov_lang"


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name
    """Mark a string for extraction (``python -m cogov.web.messages``) without
    translating it yet: it is translated when a page is rendered."""
    return message


@dataclass(frozen=True)
class Language:
    """One UI language. ``locale`` names the catalogue directory (Babel's form),
    ``tag`` is the BCP 47 tag for ``<html lang>`` and the cookie, ``endonym`` is the
    language's own name, shown untranslated in the switch so anyone can find it."""

    locale: str
    tag: str
    endonym: str


ENGLISH = Language(locale="en", tag="en", endonym="English")
SIMPLIFIED_CHINESE = Language(locale="zh_Hans", tag="zh-Hans", endonym="简体中文")
LANGUAGES: tuple[Language, ...] = (ENGLISH, SIMPLIFIED_CHINESE)
DEFAULT_LANGUAGE = ENGLISH
_BY_TAG = {language.tag.lower(): language for language in LANGUAGES}


def language_for_tag(tag: str | None) -> Language | None:
    """The UI language a single BCP 47 tag asks for, or None when we have none for it.

    Every Chinese tag maps to Simplified Chinese (the only Chinese catalogue): a
    reader of Traditional script reads it far more easily than English."""
    if not tag:
        return None
    key = tag.strip().lower().replace("_", "-")
    if key in _BY_TAG:
        return _BY_TAG[key]
    primary = key.split("-", 1)[0]
    if primary == "zh":
        return SIMPLIFIED_CHINESE
    if primary == "en":
        return ENGLISH
    return None


def parse_accept_language(header: str | None) -> list[tuple[str, float]]:
    """The tags of an ``Accept-Language`` header with their weights, best first
    (ties keep the header's order). Malformed parts are skipped, never fatal."""
    if not header:
        return []
    weighted: list[tuple[str, float, int]] = []
    for position, part in enumerate(header.split(",")):
        pieces = [piece.strip() for piece in part.split(";")]
        tag = pieces[0]
        if not tag:
            continue
        weight = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = -1.0
        if 0.0 < weight <= 1.0:
            weighted.append((tag, weight, position))
    weighted.sort(key=lambda item: (-item[1], item[2]))
    return [(tag, weight) for tag, weight, _ in weighted]


def negotiate(cookie: str | None, accept_language: str | None) -> Language:
    """The visitor's language: the cookie's choice, else Accept-Language, else English."""
    chosen = language_for_tag(cookie)
    if chosen is not None:
        return chosen
    for tag, _weight in parse_accept_language(accept_language):
        if tag == "*":
            return DEFAULT_LANGUAGE
        match = language_for_tag(tag)
        if match is not None:
            return match
    return DEFAULT_LANGUAGE


def po_path(language: Language) -> Path:
    return LOCALE_DIR / language.locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: Language) -> Translations:
    """The compiled catalogue of ``language`` (compiled from its .po once per process).

    Fuzzy entries are left out, as gettext's own compiler does: a guess never
    reaches a citizen."""
    with po_path(language).open("rb") as source:
        catalog = read_po(source, locale=language.locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)

"""The translation catalogues of the web UI: extract every user-visible string from
the templates and Python code, and keep ``messages.pot`` and each language's ``.po``
in step with it.

Run ``python -m cogov.web.messages`` after changing any text of the UI: it rewrites
``locale/messages.pot`` and merges it into every ``.po`` (new strings arrive empty,
removed ones become obsolete, translations are kept). Then translate the empty
entries in ``locale/zh_Hans/LC_MESSAGES/messages.po``; the tests fail until every
string has its Chinese translation.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from cogov.web.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, po_path

WEB_DIR = Path(__file__).resolve().parent
POT_PATH = LOCALE_DIR / f"{DOMAIN}.pot"
PROJECT = "cogov"
# Where strings live: Python code marks them with _() or N_() (N_ for strings that
# are translated later, at render time); templates with _() or {% trans %}.
METHOD_MAP = [
    ("**.py", "python"),
    ("templates/**.html", "jinja2"),
]
OPTIONS_MAP = {
    "**.py": {},
    "templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
}
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def _extracted() -> Iterator[tuple[str, int, str | tuple[str, ...], list[str], str | None]]:
    yield from extract_from_dir(
        WEB_DIR,
        method_map=METHOD_MAP,
        options_map=OPTIONS_MAP,
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    )


def extract() -> Catalog:
    """A fresh template catalogue of every string the UI shows."""
    catalog = Catalog(project=PROJECT, domain=DOMAIN, charset="utf-8", fuzzy=False)
    for filename, lineno, message, comments, context in _extracted():
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale, domain=DOMAIN)


def _write(path: Path, catalog: Catalog, **options: bool) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=96, sort_output=True, omit_header=False, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def update() -> dict[str, int]:
    """Rewrite messages.pot from the sources and merge it into every language's .po.
    Returns, per language, how many strings still lack a translation."""
    template = extract()
    if POT_PATH.exists():
        # Same strings as before: keep the old date, so an unchanged catalogue
        # leaves no diff behind.
        previous = read_catalog(POT_PATH)
        if _entries(previous) == _entries(template):
            template.creation_date = previous.creation_date
    _write(POT_PATH, template, ignore_obsolete=True, include_lineno=False)
    missing: dict[str, int] = {}
    for language in LANGUAGES:
        path = po_path(language)
        if path.exists():
            catalog = read_catalog(path, language.locale)
        else:
            catalog = Catalog(locale=language.locale, domain=DOMAIN, project=PROJECT, fuzzy=False)
        # A fresh template each time: update() shares message objects with it.
        fresh = extract()
        fresh.creation_date = template.creation_date
        catalog.update(fresh, no_fuzzy_matching=True)
        if language.locale == "en":
            # English is the source language: each string is its own translation.
            for message in catalog:
                if message.id and not message.string:
                    message.string = message.id
        _write(path, catalog, ignore_obsolete=True, include_lineno=False)
        missing[language.locale] = len(
            [message for message in catalog if message.id and not _translated(message.string)]
        )
    return missing


def _entries(catalog: Catalog) -> list[tuple[str, list[str]]]:
    """Each string with the files it is in (line numbers are not kept in the files)."""
    return sorted(
        (str(message.id), sorted({path for path, _line in message.locations}))
        for message in catalog
        if message.id
    )


def _translated(value: str | tuple[str, ...] | list[str] | None) -> bool:
    if isinstance(value, tuple | list):
        return all(value)
    return bool(value)


def main() -> int:
    missing = update()
    for locale, count in missing.items():
        print(f"{locale}: {count} string(s) without a translation")
    return 0


if __name__ == "__main__":
    sys.exit(main())

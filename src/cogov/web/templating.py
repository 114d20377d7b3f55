"""Jinja2 environments, one per UI language, each with its gettext catalogue installed.

One environment per language (rather than swapping callables per request) keeps
rendering thread-safe with no per-request state on shared objects. Both share the
loader, so a template is read from disk once.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from functools import cache
from pathlib import Path

from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from cogov.web.i18n import LANGUAGES, Language, translations

WEB_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
_LOADER = FileSystemLoader(TEMPLATE_DIR)


@cache
def static_version(name: str) -> str:
    """A short content hash of a static file, appended to its URL so browsers may
    cache it for long and still never run an old copy after an upgrade."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    return f"/static/{name}?v={static_version(name)}"


def html_attribute(name: str, value: object) -> Markup:
    """`` name="value"`` with the value escaped, for attributes a macro adds."""
    return Markup(' {}="{}"').format(name, value)


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]{2,}")


def language_attribute(text: object, page_language: Language) -> Markup:
    """`` lang="..."`` for text (from data, not the catalogue) written in the other
    language than the page's, so screen readers pronounce it right (WCAG 3.1.2)."""
    value = str(text or "")
    if page_language.locale.startswith("zh"):
        foreign = bool(_LATIN.search(value)) and not _HAN.search(value)
        return Markup(' lang="en"') if foreign else Markup("")
    return (
        Markup(' lang="zh-Hans"') if _HAN.search(value) and not _LATIN.search(value) else Markup("")
    )


def _babel_locale(language: Language) -> str:
    return "zh_Hans_CN" if language.locale == "zh_Hans" else language.locale


def format_share(value: float | None, digits: int | None = 0, locale: str = "en") -> str:
    """A share (0.42) as a percentage in ``locale``: ``digits`` decimals, or with
    ``digits=None`` a whole percentage unless rounding would make two different
    numbers look equal (0.775 against a threshold of 0.78: one decimal). "–" for none."""
    if value is None or value != value:  # None or NaN: nothing to show
        return "–"
    if digits is None:
        share = value * 100
        digits = 0 if abs(share - round(share)) < 0.05 else 1
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return str(format_percent(value, format=pattern, locale=locale))


@cache
def environment(language: Language) -> Environment:
    env = Environment(
        loader=_LOADER,
        autoescape=select_autoescape(["html", "svg"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    locale = _babel_locale(language)

    def when(value: datetime | str | None, style: str = "medium") -> str:
        """A timestamp in the reader's language (UTC, said so by the template)."""
        if value is None or value == "":
            return ""
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return str(format_datetime(moment, format=style, locale=locale, tzinfo=None))

    def number(value: float | int, digits: int = 0) -> str:
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return str(format_decimal(value, format=pattern, locale=locale))

    def percent(value: float | None, digits: int | None = 0) -> str:
        return format_share(value, digits, locale)

    def lang_attr(value: object) -> Markup:
        return language_attribute(value, language)

    env.filters.update(when=when, number=number, percent=percent, lang_attr=lang_attr)
    env.globals.update(
        static_url=static_url, languages=LANGUAGES, language=language, attribute=html_attribute
    )
    return env


def all_environments() -> list[Environment]:
    return [environment(language) for language in LANGUAGES]

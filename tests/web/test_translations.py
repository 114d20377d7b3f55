"""Every string a visitor reads goes through gettext and has its Chinese translation.

* a template may hold no literal words outside ``_()`` / ``{% trans %}`` (text
  nodes and the attributes a person reads or hears: title, alt, placeholder,
  aria-label, label, button values);
* ``messages.pot`` lists exactly what the sources mark, so nobody forgets to run
  ``python -m cogov.web.messages``;
* each msgid has a non-empty, non-fuzzy ``zh_Hans`` translation keeping the same
  ``%(name)s`` placeholders; English maps each string to itself.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cogov.web.i18n import ENGLISH, SIMPLIFIED_CHINESE, po_path
from cogov.web.messages import POT_PATH, extract, read_catalog
from cogov.web.templating import TEMPLATE_DIR, environment

# Jinja expressions and tags are replaced by this (a private-use character, not a
# letter), so only the literal text around them is checked.
HOLE = "\ue000"
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description", "label"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _has_words(text: str) -> bool:
    return any(unicodedata.category(char).startswith("L") for char in text)


class _LiteralFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._raw_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._raw_depth += 1
        values = dict(attrs)
        checked = set(READ_ATTRIBUTES)
        if tag == "input" and values.get("type") in ("submit", "button", "reset"):
            checked.add("value")
        for name, value in attrs:
            if name in checked and value and _has_words(value):
                self.found.append(f'<{tag} {name}="{value}">')

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._raw_depth:
            self._raw_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._raw_depth and _has_words(data):
            self.found.append(data.strip())


def untranslated_literals(source: str) -> list[str]:
    """The literal words of a template that do not pass through gettext."""
    env = environment(ENGLISH)
    pieces: list[str] = []
    for _line, kind, value in env.lex(source):
        if kind == "data":
            pieces.append(value)
        elif not pieces or pieces[-1] != HOLE:
            pieces.append(HOLE)
    finder = _LiteralFinder()
    finder.feed("".join(pieces))
    finder.close()
    return finder.found


TEMPLATES = sorted(TEMPLATE_DIR.rglob("*.html"))


class TestTemplatesHaveNoLiteralText:
    @pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATE_DIR)))
    def test_template(self, path: Path) -> None:
        assert untranslated_literals(path.read_text(encoding="utf-8")) == []

    def test_the_check_finds_literal_text(self) -> None:
        source = (
            '<p>{{ _("Fine") }}</p><h1>Hard-coded</h1>'
            '<input type="submit" value="Send"><img alt="a map" src="x">'
            '<button aria-label="{{ _("Close") }}">×</button><p>报告</p>'
        )
        assert untranslated_literals(source) == [
            "Hard-coded",
            '<input value="Send">',
            '<img alt="a map">',
            "报告",
        ]

    def test_scripts_and_comments_are_not_text(self) -> None:
        source = "{# a note #}<!-- markup note --><script>let x = 1;</script>{{ value }}"
        assert untranslated_literals(source) == []


class TestCatalogues:
    def test_template_catalogue_is_up_to_date(self) -> None:
        fresh = {message.id for message in extract() if message.id}
        stored = {message.id for message in read_catalog(POT_PATH) if message.id}
        missing, stale = fresh - stored, stored - fresh
        changed = missing | stale
        assert not changed, (
            f"run `python -m cogov.web.messages`: {len(missing)} new, {len(stale)} removed "
            f"string(s), e.g. {sorted(map(str, changed))[:3]}"
        )

    @pytest.mark.parametrize("language", [SIMPLIFIED_CHINESE, ENGLISH], ids=lambda x: x.tag)
    def test_every_string_is_translated(self, language: object) -> None:
        catalog = read_catalog(po_path(language), language.locale)  # type: ignore[attr-defined]
        wanted = {message.id for message in read_catalog(POT_PATH) if message.id}
        problems = []
        for message in catalog:
            if not message.id or message.id not in wanted:
                continue
            wanted.discard(message.id)
            if not message.string:
                problems.append(f"untranslated: {message.id!r}")
            elif message.fuzzy:
                problems.append(f"fuzzy (needs a translator's check): {message.id!r}")
            elif set(PLACEHOLDER.findall(str(message.id))) != set(
                PLACEHOLDER.findall(str(message.string))
            ):
                problems.append(f"placeholders differ: {message.id!r} -> {message.string!r}")
        problems += [f"missing from the .po: {msgid!r}" for msgid in sorted(map(str, wanted))]
        assert problems == []

    def test_chinese_catalogue_is_really_chinese(self) -> None:
        catalog = read_catalog(po_path(SIMPLIFIED_CHINESE), SIMPLIFIED_CHINESE.locale)
        han = re.compile(r"[\u4e00-\u9fff]")
        copied = [
            m.id
            for m in catalog
            if m.id
            and m.string
            and m.string == m.id
            and _has_words(str(m.id))
            and not han.search(str(m.string))
        ]
        # A few strings are the same in both (names of standards), but never most.
        assert len(copied) <= 3, copied

"""Choosing the visitor's language: the cookie first, then Accept-Language, then English."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cogov.web.i18n import (
    ENGLISH,
    LANGUAGES,
    SIMPLIFIED_CHINESE,
    language_for_tag,
    negotiate,
    parse_accept_language,
    translations,
)


class TestParseAcceptLanguage:
    def test_orders_by_weight_then_position(self) -> None:
        assert parse_accept_language("en;q=0.5, zh-CN, fr;q=0.9") == [
            ("zh-CN", 1.0),
            ("fr", 0.9),
            ("en", 0.5),
        ]

    def test_skips_refused_and_malformed_parts(self) -> None:
        assert parse_accept_language("zh;q=0, en;q=abc, , de") == [("de", 1.0)]

    @given(st.text(max_size=200))
    def test_never_fails(self, header: str) -> None:
        for tag, weight in parse_accept_language(header):
            assert tag
            assert 0 < weight <= 1


class TestNegotiate:
    def test_cookie_wins_over_the_browser(self) -> None:
        assert negotiate("zh-Hans", "en-US,en;q=0.9") is SIMPLIFIED_CHINESE

    def test_accept_language_picks_the_best_supported(self) -> None:
        assert negotiate(None, "fr-FR, zh-TW;q=0.8, en;q=0.5") is SIMPLIFIED_CHINESE
        assert negotiate(None, "de, en-GB;q=0.7") is ENGLISH

    def test_unknown_cookie_falls_back_to_the_header(self) -> None:
        assert negotiate("klingon", "zh-CN") is SIMPLIFIED_CHINESE

    def test_english_when_nothing_matches(self) -> None:
        assert negotiate(None, None) is ENGLISH
        assert negotiate(None, "fr, de") is ENGLISH

    @given(st.text(max_size=30), st.text(max_size=200))
    def test_always_a_supported_language(self, cookie: str, header: str) -> None:
        assert negotiate(cookie, header) in LANGUAGES


class TestCatalogue:
    def test_language_tags(self) -> None:
        assert language_for_tag("zh_Hans") is SIMPLIFIED_CHINESE
        assert language_for_tag("EN") is ENGLISH
        assert language_for_tag("es") is None

    def test_chinese_catalogue_translates(self) -> None:
        assert translations(SIMPLIFIED_CHINESE).gettext("Report a problem") == "反映问题"
        assert translations(ENGLISH).gettext("Report a problem") == "Report a problem"


class TestLanguageOfData:
    def test_other_language_text_is_marked(self) -> None:
        from cogov.web.templating import language_attribute

        assert language_attribute("WATER LEAK DAMP SPOT", SIMPLIFIED_CHINESE) == ' lang="en"'
        assert language_attribute("路灯不亮", SIMPLIFIED_CHINESE) == ""
        assert language_attribute("路灯不亮", ENGLISH) == ' lang="zh-Hans"'
        assert language_attribute("Street light out", ENGLISH) == ""
        assert language_attribute("12 3", SIMPLIFIED_CHINESE) == ""

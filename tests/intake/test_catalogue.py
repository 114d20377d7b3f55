from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cogov.intake import Catalogue, CatalogueInvalid, load_catalogue, load_group_attributes
from cogov.intake.rules import address_key, guess_language


class TestCatalogue:
    def test_default_catalogue_is_bilingual_open311(self) -> None:
        catalogue = load_catalogue()
        noise = catalogue.get("noise")
        assert noise is not None
        assert noise.open311("zh")["service_name"] == "噪音扰民"
        entry = noise.open311("en")
        assert set(entry) == {
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group",
        }
        definition = noise.open311_definition("en")
        assert definition["attributes"][0]["datatype"] == "singlevaluelist"
        assert definition["attributes"][0]["values"][0] == {
            "key": "music",
            "name": "Music or party",
        }

    def test_refuses_a_bad_file_naming_the_field(self, tmp_path: Path) -> None:
        path = tmp_path / "services.yaml"
        path.write_text(
            "services:\n  - code: x\n    name: {en: X, zh: X}\n    description: {en: d, zh: d}\n"
            "    group: {en: g, zh: g}\n    attributes:\n      - code: a\n"
            "        datatype: singlevaluelist\n        description: {en: a, zh: a}\n",
            encoding="utf-8",
        )
        with pytest.raises(CatalogueInvalid, match="needs values"):
            load_catalogue(path)

    def test_duplicate_codes_are_refused(self, tmp_path: Path) -> None:
        service = (
            "  - code: x\n    name: {en: X, zh: X}\n"
            "    description: {en: d, zh: d}\n    group: {en: g, zh: g}\n"
        )
        path = tmp_path / "services.yaml"
        path.write_text("services:\n" + service + service, encoding="utf-8")
        with pytest.raises(CatalogueInvalid, match="appears twice"):
            load_catalogue(path)

    def test_catalogue_from_history_names(self) -> None:
        catalogue = Catalogue.of_names(["Noise - Residential", "Noise - Residential", "噪音"])
        assert catalogue.codes[0] == "noise_residential"
        assert len(catalogue.codes) == 2
        assert catalogue.services[1].name.zh == "噪音"

    def test_group_attributes(self) -> None:
        groups = load_group_attributes()
        assert "needs_assistance" in groups.names
        assert groups.by_name["age_band"].values[-1] == "65_plus"


class TestPlaceKeys:
    def test_same_street_address_written_two_ways(self) -> None:
        assert address_key("12 West 4th Street", None, None, None) == address_key(
            "12 W. 4th St", None, None, None
        )

    def test_address_id_wins_then_address_then_grid(self) -> None:
        assert address_key("1 Main St", "BBL-9", 1.0, 2.0) == "id:BBL-9"
        assert address_key(None, None, 40.71281, -74.00601) == "geo:40.7128,-74.0060"
        assert address_key(None, None, None, None) is None

    def test_language_guess(self) -> None:
        assert guess_language("路灯坏了") == "zh"
        assert guess_language("street light out") is None


_REFERENCE_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def reference_guess_language(text: str) -> str | None:
    """The per-character guess guess_language replaced, kept as the reference."""
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return None
    cjk = sum(1 for char in letters if _REFERENCE_CJK.match(char))
    return "zh" if cjk * 2 >= len(letters) else None


# Chinese ranges with their edges and unassigned code points (not letters), other
# scripts' letters, digits, punctuation, and ASCII.
mixed_characters = st.one_of(
    st.characters(min_codepoint=0x3400, max_codepoint=0x4DBF),
    st.characters(min_codepoint=0x4DB0, max_codepoint=0x4E10),
    st.characters(min_codepoint=0x9FE0, max_codepoint=0xA010),
    st.characters(min_codepoint=0xF8F0, max_codepoint=0xFB10),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.sampled_from(list("路灯坏了，。！ 123abcXYZ éßΩжあア한٣½²Ⅻ_\n")),
    st.characters(codec="ascii"),
    st.characters(),
)


class TestLanguageGuess:
    """The counting guess answers exactly as the per-character one did."""

    @settings(max_examples=800)
    @given(st.text(mixed_characters, max_size=60))
    def test_same_answer_as_the_reference(self, text: str) -> None:
        assert guess_language(text) == reference_guess_language(text)

    @given(st.text(st.characters(codec="ascii"), max_size=60))
    def test_ascii_text_is_never_chinese(self, text: str) -> None:
        assert guess_language(text) is None
        assert reference_guess_language(text) is None

    def test_half_chinese_letters_is_chinese(self) -> None:
        assert guess_language("ab路灯") == "zh"
        assert guess_language("abc路灯") is None
        assert guess_language("路灯 123 !!") == "zh"
        assert guess_language("\u4dc0\u4dc1 ab") is None  # hexagram symbols are no letters

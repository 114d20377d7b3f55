"""The one rule for text a person types: control characters other than tab, LF and
CR are refused, with the code point and where it stands."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from cogov.core.text import FreeText, control_character_problem, trimmed

ALLOWED = {"\t", "\n", "\r"}
REFUSED = [chr(c) for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)] if chr(c) not in ALLOWED]


class Note(BaseModel):
    note: FreeText | None = None


class TestControlCharacterProblem:
    def test_names_the_code_point_and_its_position_from_one(self) -> None:
        assert control_character_problem("Pothole\x07 on Main") == (
            "contains a control character U+0007 at position 8"
        )
        assert control_character_problem("\x00") == (
            "contains a control character U+0000 at position 1"
        )
        # The first one is named; C1 characters are refused as well.
        assert control_character_problem("ok \x9b2J \x1b") == (
            "contains a control character U+009B at position 4"
        )

    @pytest.mark.parametrize("char", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
    def test_every_c0_and_c1_control_but_tab_lf_cr_is_refused(self, char: str) -> None:
        assert control_character_problem(f"a{char}b") == (
            f"contains a control character U+{ord(char):04X} at position 2"
        )

    def test_tab_line_breaks_and_other_text_pass(self) -> None:
        text = "Line one\r\nline two\tand 三 — \u00a0\u200b\u2028 emoji 🚧"
        assert control_character_problem(text) is None

    @given(st.text())
    def test_refuses_exactly_the_category_cc_less_tab_lf_cr(self, text: str) -> None:
        expected = [
            i for i, c in enumerate(text) if unicodedata.category(c) == "Cc" and c not in ALLOWED
        ]
        problem = control_character_problem(text)
        if not expected:
            assert problem is None
        else:
            first = expected[0]
            assert problem == (
                f"contains a control character U+{ord(text[first]):04X} at position {first + 1}"
            )


class TestFreeText:
    def test_a_model_field_is_refused_naming_the_field(self) -> None:
        with pytest.raises(ValidationError) as refused:
            Note(note="fine\x1b[31mred")
        [error] = refused.value.errors()
        assert error["loc"] == ("note",)
        assert error["msg"] == "Value error, contains a control character U+001B at position 5"

    def test_plain_text_and_none_pass(self) -> None:
        assert Note(note="a\tb\nc").note == "a\tb\nc"
        assert Note().note is None


class TestTrimmed:
    @pytest.mark.parametrize("char", ["\x1c", "\x1d", "\x1e", "\x1f", "\x85"])
    def test_a_control_character_str_strip_takes_for_white_space_is_kept(self, char: str) -> None:
        assert f" x{char}".strip() == "x"  # why trimmed exists
        assert trimmed(f" x{char}") == f" x{char}"
        assert control_character_problem(trimmed(char)) is not None
        assert trimmed(" \tplain text\n") == "plain text"

"""What text a person types (a reason, a note, a request's description, a name) may
hold: one rule, used wherever cogov accepts such text.

C0 and C1 control characters (U+0000-U+001F, U+007F-U+009F) are refused, except tab,
line feed and carriage return, which people type. The others are invisible on every
page and in the ledger, can hide or reorder what a reviewer or auditor reads in a
terminal (ESC sequences), and NUL cannot be stored in PostgreSQL text at all.

Packages raise their own error naming the field, with ``control_character_problem``
as the reason; pydantic models use ``FreeText`` (the field name comes from pydantic).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

# Unicode category Cc is exactly these ranges; tab, LF and CR are let through.
_REFUSED_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character_problem(text: str) -> str | None:
    """Why ``text`` is refused, or None when it holds no refused control character:
    ``contains a control character U+0007 at position 12`` for the first one, its
    position counted in characters from 1."""
    found = _REFUSED_CONTROL.search(text)
    if found is None:
        return None
    return (
        f"contains a control character U+{ord(found.group()):04X} at position {found.start() + 1}"
    )


def trimmed(text: str) -> str:
    """``text`` without white space at its ends, unless it holds a refused control
    character: then as sent, so the rule refuses it naming the field. str.strip()
    takes U+001C-U+001F and U+0085 for white space: an adapter that trims what a
    person typed before the rule sees it would drop one at an end unseen."""
    return text if control_character_problem(text) else text.strip()


def _refuse_control_characters(value: object) -> object:
    # Before pydantic's own checks and stripping, so the position is the one sent;
    # a value of another type is left for pydantic to refuse.
    if isinstance(value, str):
        problem = control_character_problem(value)
        if problem is not None:
            raise ValueError(problem)
    return value


FreeText = Annotated[str, BeforeValidator(_refuse_control_characters)]
"""A ``str`` field of a pydantic model that refuses control characters as above."""

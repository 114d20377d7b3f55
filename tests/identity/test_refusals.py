"""Each refusal of identity carries a stable code beside its field and English reason,
so adapters (the web's translated messages) never read the English text."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cogov.identity import InvalidUserInput, Refusal
from cogov.identity.rules import (
    check_department,
    check_departments_fit_roles,
    check_display_name,
    check_password,
    check_reason,
    check_roles,
    check_username,
    department_changes,
)

CASES: list[tuple[str, Callable[[], object], str, Refusal]] = [
    ("bad username", lambda: check_username("Li Wei"), "username", Refusal.USERNAME_FORMAT),
    ("empty name", lambda: check_display_name("  "), "display_name", Refusal.EMPTY),
    (
        "control in name",
        lambda: check_display_name("Li\x07Wei"),
        "display_name",
        Refusal.CONTROL_CHARACTERS,
    ),
    (
        # str.split would have made this separator a space
        "separator in name",
        lambda: check_display_name("Li\x1fWei"),
        "display_name",
        Refusal.CONTROL_CHARACTERS,
    ),
    (
        "escape in reason",
        lambda: check_reason("moved\x1b[2J"),
        "reason",
        Refusal.CONTROL_CHARACTERS,
    ),
    ("empty reason", lambda: check_reason(" \t\n"), "reason", Refusal.EMPTY),
    ("long name", lambda: check_display_name("x" * 201), "display_name", Refusal.TOO_LONG),
    ("no role", lambda: check_roles([]), "roles", Refusal.NO_ROLES),
    ("unknown role", lambda: check_roles(["reviewer", "king"]), "roles", Refusal.UNKNOWN_ROLE),
    ("empty department", lambda: check_department("add", " "), "add", Refusal.EMPTY),
    (
        "control in department",
        lambda: check_department("remove", "Parks\x00"),
        "remove",
        Refusal.CONTROL_CHARACTERS,
    ),
    ("long department", lambda: check_department("add", "P" * 201), "add", Refusal.TOO_LONG),
    ("no change", lambda: department_changes([], [], []), "departments", Refusal.NO_CHANGE),
    (
        "both",
        lambda: department_changes([], ["Parks"], ["Parks"]),
        "remove",
        Refusal.ADDED_AND_REMOVED,
    ),
    ("held", lambda: department_changes(["Parks"], ["Parks"], []), "add", Refusal.ALREADY_HELD),
    ("not held", lambda: department_changes([], [], ["Parks"]), "remove", Refusal.NOT_HELD),
    (
        "departments for a reviewer",
        lambda: check_departments_fit_roles(["reviewer"], ["Parks"]),
        "add",
        Refusal.NOT_FIELD_STAFF,
    ),
    ("short password", lambda: check_password("tiny"), "password", Refusal.TOO_SHORT),
    ("no password", lambda: check_password(""), "password", Refusal.EMPTY),
    ("long password", lambda: check_password("x" * 1025), "password", Refusal.TOO_LONG),
    ("blank password", lambda: check_password(" " * 20), "password", Refusal.BLANK),
]


def test_departments_fit_field_staff_and_any_role_may_lose_them() -> None:
    check_departments_fit_roles(["field_staff", "auditor"], ["Parks"])
    check_departments_fit_roles(["reviewer"], [])


@pytest.mark.parametrize(
    ("check", "field", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_refusal_names_field_and_code(
    check: Callable[[], object], field: str, code: Refusal
) -> None:
    with pytest.raises(InvalidUserInput) as refused:
        check()
    assert (refused.value.field, refused.value.code) == (field, code)
    assert refused.value.reason  # the English words stay, for logs, the API and the CLI


def test_codes_are_stable_text() -> None:
    # Adapters and API clients may compare with the plain strings.
    assert Refusal.NO_ROLES == "no_roles"
    assert Refusal.UNKNOWN_ROLE == "unknown_role"
    assert Refusal.CONTROL_CHARACTERS == "control_characters"

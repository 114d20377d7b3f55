"""Pure rules about staff identities: what a username, role set and password may be,
and how passwords are hashed (argon2id through argon2-cffi)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cogov.core.text import control_character_problem
from cogov.core.types import Role
from cogov.identity.errors import InvalidUserInput, Refusal

# Staff ids, not personal names: they appear on ledger entries as "user:<username>".
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
DISPLAY_NAME_MAX = 200
PASSWORD_MIN_LENGTH = 12
DEPARTMENT_MAX = 200  # as control's workflows keep a department
PASSWORD_MAX_LENGTH = 1024  # argon2 copes, but unbounded input is a denial of service

# argon2-cffi's defaults follow RFC 9106's second recommended profile.
_HASHER = PasswordHasher()


def check_username(username: str) -> str:
    if not USERNAME_PATTERN.match(username):
        raise InvalidUserInput(
            "username",
            Refusal.USERNAME_FORMAT,
            f"{username!r} must be 2-64 characters of a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit",
        )
    return username


def check_free_text(field: str, text: str) -> str:
    """``text`` as typed, unless it holds a control character other than tab, LF or
    CR (cogov.core.text's one rule): then InvalidUserInput naming ``field``, code
    control_characters. Checked before white space is collapsed, since str.split
    would quietly turn some (U+001C-U+001F, U+0085) into spaces."""
    problem = control_character_problem(text)
    if problem is not None:
        raise InvalidUserInput(field, Refusal.CONTROL_CHARACTERS, problem)
    return text


def check_reason(reason: str) -> str:
    """A reason for a change, white space runs collapsed; not empty."""
    cleaned = " ".join(check_free_text("reason", reason).split())
    if not cleaned:
        raise InvalidUserInput("reason", Refusal.EMPTY, "must not be empty")
    return cleaned


def check_display_name(display_name: str) -> str:
    cleaned = " ".join(check_free_text("display_name", display_name).split())
    if not cleaned:
        raise InvalidUserInput("display_name", Refusal.EMPTY, "must not be empty")
    if len(cleaned) > DISPLAY_NAME_MAX:
        raise InvalidUserInput(
            "display_name", Refusal.TOO_LONG, f"must be at most {DISPLAY_NAME_MAX} characters"
        )
    return cleaned


def check_roles(roles: Iterable[Role | str]) -> tuple[Role, ...]:
    """Roles as a sorted tuple without repeats; at least one."""
    parsed: set[Role] = set()
    for role in roles:
        try:
            parsed.add(Role(role))
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise InvalidUserInput(
                "roles", Refusal.UNKNOWN_ROLE, f"{role!r} is not one of {allowed}"
            ) from None
    if not parsed:
        raise InvalidUserInput("roles", Refusal.NO_ROLES, "a user needs at least one role")
    return tuple(sorted(parsed, key=lambda r: r.value))


def check_department(field: str, department: str) -> str:
    """A department name as control's routing writes it (white space runs collapsed)."""
    cleaned = " ".join(check_free_text(field, department).split())
    if not cleaned:
        raise InvalidUserInput(field, Refusal.EMPTY, "a department name must not be empty")
    if len(cleaned) > DEPARTMENT_MAX:
        raise InvalidUserInput(
            field, Refusal.TOO_LONG, f"{cleaned[:40]!r}... is over {DEPARTMENT_MAX} characters"
        )
    return cleaned


def department_changes(
    held: Iterable[str], add: Iterable[str], remove: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The departments to add and to remove, each sorted and checked against those
    ``held``: at least one change, none both added and removed, none added twice over
    (already held) and none removed that is not held."""
    have = set(held)
    adding = sorted({check_department("add", name) for name in add})
    removing = sorted({check_department("remove", name) for name in remove})
    if not adding and not removing:
        raise InvalidUserInput(
            "departments", Refusal.NO_CHANGE, "name at least one department to add or remove"
        )
    both = set(adding) & set(removing)
    if both:
        raise InvalidUserInput(
            "remove", Refusal.ADDED_AND_REMOVED, f"{min(both)!r} is both added and removed"
        )
    for name in adding:
        if name in have:
            raise InvalidUserInput(
                "add", Refusal.ALREADY_HELD, f"the user already works for {name!r}"
            )
    for name in removing:
        if name not in have:
            raise InvalidUserInput(
                "remove", Refusal.NOT_HELD, f"the user does not work for {name!r}"
            )
    return tuple(adding), tuple(removing)


def check_departments_fit_roles(roles: Iterable[Role | str], adding: Iterable[str]) -> None:
    """Only field staff work for departments: giving one to a user without that role
    is refused (taking one away never is, so departments a former field worker kept
    from before role changes took them away can still be tidied up)."""
    if any(True for _ in adding) and Role.FIELD_STAFF not in set(roles):
        raise InvalidUserInput(
            "add", Refusal.NOT_FIELD_STAFF, "only field staff work for departments"
        )


def departments_lost_with_roles(
    roles: Iterable[Role | str], held: Iterable[str]
) -> tuple[str, ...]:
    """The departments a user must leave when they hold ``roles`` from now on: all
    they ``held`` once they are no longer field staff (only field staff work for
    departments), none while they still are; sorted."""
    if Role.FIELD_STAFF in {Role(role) for role in roles}:
        return ()
    return tuple(sorted(set(held)))


def check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN_LENGTH:
        # An empty one is too short as well; its own code lets a form ask for one instead.
        code = Refusal.TOO_SHORT if password else Refusal.EMPTY
        raise InvalidUserInput(
            "password", code, f"must be at least {PASSWORD_MIN_LENGTH} characters"
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidUserInput(
            "password", Refusal.TOO_LONG, f"must be at most {PASSWORD_MAX_LENGTH} characters"
        )
    if not password.strip():
        raise InvalidUserInput("password", Refusal.BLANK, "must not be only white space")
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(check_password(password))


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)

"""Failures of the identity package: one class each, under IdentityError."""

from __future__ import annotations

from enum import StrEnum

from cogov.core.errors import CogovError, Conflict, NotFound, ValidationFailed
from cogov.core.types import Role


class IdentityError(CogovError):
    """Base of the identity package's errors."""


class Refusal(StrEnum):
    """Why identity refused a value, as a stable code: adapters choose their own words
    (a translated message on the web) from it, never from the English ``reason``."""

    USERNAME_FORMAT = "username_format"
    EMPTY = "empty"
    CONTROL_CHARACTERS = "control_characters"
    TOO_LONG = "too_long"
    TOO_SHORT = "too_short"
    BLANK = "blank"
    NO_ROLES = "no_roles"
    UNKNOWN_ROLE = "unknown_role"
    NO_CHANGE = "no_change"
    ADDED_AND_REMOVED = "added_and_removed"
    ALREADY_HELD = "already_held"
    NOT_HELD = "not_held"
    NOT_FIELD_STAFF = "not_field_staff"
    UNKNOWN_CHOICE = "unknown_choice"


class InvalidUserInput(IdentityError, ValidationFailed):
    """A username, display name, role, department, password or reason was refused:
    ``field`` names it, ``code`` says why for machines, ``reason`` for people (English)."""

    def __init__(self, field: str, code: Refusal, reason: str) -> None:
        ValidationFailed.__init__(self, field, reason)
        self.code = code


class UserNotFound(IdentityError, NotFound):
    def __init__(self, username: str) -> None:
        NotFound.__init__(self, "user", username)
        self.username = username


class UsernameTaken(IdentityError, Conflict):
    def __init__(self, username: str) -> None:
        Conflict.__init__(self, f"username: {username!r} is already taken")
        self.username = username


class UserDisabled(IdentityError, Conflict):
    """The user exists but is disabled, so may not act."""

    def __init__(self, username: str) -> None:
        Conflict.__init__(self, f"user {username!r} is disabled")
        self.username = username


class UserAlreadyActive(IdentityError, Conflict):
    def __init__(self, username: str) -> None:
        Conflict.__init__(self, f"user {username!r} is already active")
        self.username = username


class MissingRole(IdentityError):
    """The user is active but does not hold the role the step needs."""

    def __init__(self, username: str, role: Role) -> None:
        super().__init__(f"user {username!r} does not hold the {role.value} role")
        self.username = username
        self.role = role


class LastAdministrator(IdentityError, Conflict):
    """Disabling (or demoting) the last active administrator would lock everyone out."""

    def __init__(self, username: str) -> None:
        Conflict.__init__(
            self, f"user {username!r} is the last active administrator and must stay so"
        )
        self.username = username


class CannotDisableSelf(IdentityError, Conflict):
    """An administrator may not disable their own account: it would end their own
    access mid-change, and leaves no second pair of eyes on it. Another administrator
    must do it."""

    def __init__(self, username: str) -> None:
        Conflict.__init__(
            self, f"user {username!r} may not disable their own account; another administrator must"
        )
        self.username = username

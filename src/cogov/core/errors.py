"""The root of cogov's errors. Each domain package derives its own base from
``CogovError`` and one class per failure. Errors carry no HTTP status or exit
code: adapters (api, web, cli) map them at the edge.
"""

from __future__ import annotations


class CogovError(Exception):
    """Base of every error cogov raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(CogovError):
    """Input was refused. ``field`` names what was wrong, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(CogovError):
    """A thing looked up by id does not exist."""

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key!r} not found")
        self.what = what
        self.key = key


class Conflict(CogovError):
    """The request clashes with the current state (e.g. a wrong lifecycle step)."""

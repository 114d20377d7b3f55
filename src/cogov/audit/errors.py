"""Failures of an audit. Each names what was wrong and, where it helps, what was there."""

from __future__ import annotations

from collections.abc import Iterable

from cogov.core.errors import CogovError


class AuditError(CogovError):
    """Base of the audit's errors."""


def _listing(names: Iterable[str], limit: int = 60) -> str:
    shown = [repr(name) for name in names]
    more = len(shown) - limit
    text = ", ".join(shown[:limit])
    return f"{text}, … ({more} more)" if more > 0 else text


class MissingColumn(AuditError):
    """A column named by a flag or a preset is not in the data."""

    def __init__(self, flag: str, column: str, source: str, available: Iterable[str]) -> None:
        self.flag = flag
        self.column = column
        self.available = list(available)
        super().__init__(
            f"{flag}: column {column!r} is not in {source}; available columns: "
            f"{_listing(self.available)}"
        )


class BadColumn(AuditError):
    """A column is there but its values cannot be read as what the flag asks for."""

    def __init__(self, flag: str, column: str, reason: str) -> None:
        self.flag = flag
        self.column = column
        self.reason = reason
        super().__init__(f"{flag}: column {column!r} {reason}")


class UnknownGroup(AuditError):
    """A named reference group does not occur in the group column."""

    def __init__(self, group: str, name: str, available: Iterable[str]) -> None:
        self.group = group
        self.name = name
        super().__init__(
            f"--reference: {name!r} is not a value of {group!r}; values: {_listing(available)}"
        )


class BadInput(AuditError):
    """Any other refused input, naming the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")

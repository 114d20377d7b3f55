from __future__ import annotations

from cogov.core.errors import CogovError


class LedgerError(CogovError):
    """Base of the ledger's errors."""


class PersonalDataInPayload(LedgerError):
    """A payload carried a field that may hold contact or personal data."""

    def __init__(self, field: str) -> None:
        super().__init__(f"payload.{field}: personal data is never written to the ledger")
        self.field = field


class InvalidEntry(LedgerError):
    """An entry's kind, actor or payload is malformed."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

from __future__ import annotations

from pathlib import Path

from cogov.core.errors import CogovError


class LedgerError(CogovError):
    """Base of the ledger's errors."""


class PersonalDataInPayload(LedgerError):
    """A payload carried a field that may hold contact or personal data."""

    def __init__(self, field: str, *, where: str = "") -> None:
        super().__init__(f"{where}payload.{field}: personal data is never written to the ledger")
        self.field = field


class InvalidEntry(LedgerError):
    """An entry's kind, actor, case id or payload is malformed."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class SigningKeyUnusable(LedgerError):
    """The checkpoint signing key file cannot be used."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"ledger signing key {path}: {reason}")
        self.path = path
        self.reason = reason


class NoSuchEntry(LedgerError):
    """A sequence number outside the ledger (or outside the tree asked about)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NoCheckpoint(LedgerError):
    """A proof needs a signed checkpoint and there is none (yet) of that size."""


class TreeInconsistent(LedgerError):
    """Stored tree nodes disagree with a signed checkpoint: run `cogov ledger verify`."""

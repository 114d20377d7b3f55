"""Every failure the triage package raises on purpose, under one base."""

from __future__ import annotations

from pathlib import Path

from cogov.core.errors import CogovError, ValidationFailed


class TriageError(CogovError):
    """Base of the triage package's errors."""


class TriageInputError(TriageError, ValidationFailed):
    """A text, a column or a training set was refused: names the field and the reason."""


class ModelFileError(TriageError):
    """A model directory is missing, incomplete, or holds something we will not load."""


class ModelIntegrityError(ModelFileError):
    """A model file's SHA-256 does not match the one its manifest recorded."""

    def __init__(self, path: Path, expected: str, actual: str) -> None:
        super().__init__(
            f"{path}: SHA-256 {actual[:16]}… does not match the manifest's {expected[:16]}…; "
            "the file was changed after training, refusing to load it"
        )
        self.path = path
        self.expected = expected
        self.actual = actual


class BackendUnavailable(TriageError):
    """An optional backend (embeddings, HTTP model) is not installed or not reachable."""


class BackendFailed(TriageError):
    """An optional backend answered, but not with something usable."""

"""Failures of access: one class each, under AccessError."""

from __future__ import annotations

from cogov.core.errors import NotFound, ValidationFailed
from cogov.identity.errors import IdentityError


class AccessError(IdentityError):
    """Base of the access package's errors."""


class InvalidCredentials(AccessError):
    """A password, API token or session was wrong, expired, revoked, or its user is
    disabled. One class for all of them: the answer must not tell which."""

    def __init__(self) -> None:
        super().__init__("the credentials are not valid")


class InvalidTokenInput(AccessError, ValidationFailed):
    def __init__(self, field: str, reason: str) -> None:
        ValidationFailed.__init__(self, field, reason)


class TokenNotFound(AccessError, NotFound):
    def __init__(self, token_id: str) -> None:
        NotFound.__init__(self, "api token", token_id)
        self.token_id = token_id

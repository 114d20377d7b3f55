"""Errors of intake: one class per failure, under IntakeError. No HTTP codes."""

from __future__ import annotations

from collections.abc import Sequence

from cogov.core.errors import CogovError, Conflict, NotFound, ValidationFailed


class IntakeError(CogovError):
    """Base of intake's errors."""


class InvalidRequest(ValidationFailed, IntakeError):
    """A request was refused. ``field``/``reason`` name the first problem;
    ``problems`` lists every one found, as (field, reason) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        if not problems:
            raise ValueError("InvalidRequest needs at least one problem")
        field, reason = problems[0]
        super().__init__(field, reason)
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        if len(self.problems) > 1:
            others = "; ".join(f"{f}: {r}" for f, r in self.problems[1:])
            self.message = f"{self.message} (also {others})"
            self.args = (self.message,)


class IdempotencyConflict(Conflict, IntakeError):
    """The idempotency key was already used for a different request body."""

    def __init__(self, key: str, case_id: str) -> None:
        super().__init__(
            f"idempotency_key: {key!r} was already used for a different request "
            f"(case {case_id}); send the same body to retry, or use a new key"
        )
        self.key = key
        self.case_id = case_id


class CaseNotFound(NotFound, IntakeError):
    def __init__(self, key: object) -> None:
        super().__init__("case", key)


class UnknownCitizenToken(CaseNotFound):
    """No case opens with this citizen token (the message never echoes the token)."""

    def __init__(self) -> None:
        CogovError.__init__(self, "request not found for this token")
        self.what = "case"
        self.key = None


class AlreadyRated(Conflict, IntakeError):
    """The citizen already rated this case (a case is rated once)."""

    def __init__(self, case_id: str) -> None:
        super().__init__(f"case {case_id} is already rated")
        self.case_id = case_id


class CatalogueInvalid(IntakeError):
    """A service catalogue or group-attribute file is malformed."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason

"""Failures of the registry: one class each, under RegistryError.

``RefusalRecorded`` is special: the service has already appended a ledger entry
recording the refusal in the caller's session. The caller commits that session
(so the record survives) and then reports the error.
"""

from __future__ import annotations

from collections.abc import Sequence

from cogov.core.errors import CogovError, Conflict, NotFound, ValidationFailed


class RegistryError(CogovError):
    """Base of the registry's errors."""


class FilingInvalid(RegistryError, ValidationFailed):
    """A filing file or document was refused. ``problems`` lists every
    (field path, reason); the message names them all."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        first_field, first_reason = problems[0]
        ValidationFailed.__init__(self, first_field, first_reason)
        self.problems = list(problems)
        self.message = "; ".join(f"{field}: {reason}" for field, reason in self.problems)
        self.args = (self.message,)


class InvalidRegistryInput(RegistryError, ValidationFailed):
    """A reason, service code, format or similar argument was refused."""

    def __init__(self, field: str, reason: str) -> None:
        ValidationFailed.__init__(self, field, reason)


class AgentNotFound(RegistryError, NotFound):
    def __init__(self, agent_id: str) -> None:
        NotFound.__init__(self, "agent", agent_id)
        self.agent_id = agent_id


class VersionNotFound(RegistryError, NotFound):
    def __init__(self, agent_id: str, version: int) -> None:
        NotFound.__init__(self, f"agent {agent_id!r} version", version)
        self.agent_id = agent_id
        self.version = version


class UnchangedFiling(RegistryError, Conflict):
    """Filing the same document again makes no new version."""

    def __init__(self, agent_id: str, version: int) -> None:
        Conflict.__init__(
            self, f"agent {agent_id!r}: the file is identical to version {version}; nothing filed"
        )


class ConcurrentFiling(RegistryError, Conflict):
    """Another session filed the same new agent at the same moment and committed first;
    this filing wrote nothing (no filing, no history step, no ledger entry)."""

    def __init__(self, agent_id: str) -> None:
        self.field = "agent_id"
        self.agent_id = agent_id
        self.reason = (
            f"agent {agent_id!r} was filed by another session at the same moment; "
            "nothing was filed here: look at the filing that won, and file again "
            "to make a new version"
        )
        Conflict.__init__(self, f"{self.field}: {self.reason}")


class TransitionRefused(RegistryError, Conflict):
    """A lifecycle step that the filing's state, the actor or a check does not allow."""


class NotPermitted(RegistryError):
    """The named user may not take this step."""


class RefusalRecorded(RegistryError):
    """A refusal the ledger records: commit the session, then report the message."""


class ProhibitedUseRefused(RefusalRecorded, TransitionRefused):
    """Approval (or activation) of a filing that declares or describes a prohibited use."""


class SandboxReportMissing(RefusalRecorded, TransitionRefused):
    """Activation of a grade III/IV filing without an approved sandbox report."""

"""Failures of dynamic autonomy: one class each, under AutonomyError."""

from __future__ import annotations

from cogov.control.errors import ControlError
from cogov.core.errors import Conflict, ValidationFailed


class AutonomyError(ControlError):
    """Base of the autonomy controller's errors."""


class InvalidAutonomyInput(AutonomyError, ValidationFailed):
    def __init__(self, field: str, reason: str) -> None:
        ValidationFailed.__init__(self, field, reason)


class NotTheGuardian(AutonomyError, Conflict):
    """Only the agent's guardian on duty may sign off a raise."""

    def __init__(self, agent_id: str, username: str, guardian: str | None) -> None:
        who = f"its guardian {guardian!r}" if guardian else "its guardian (none is on duty)"
        Conflict.__init__(
            self,
            f"{username!r} may not raise the autonomy of agent {agent_id!r}: only {who} "
            "can sign it off",
        )
        self.agent_id = agent_id
        self.username = username


class RaiseRefused(AutonomyError, Conflict):
    """The raise itself is not allowed: not above the current level, above the
    grade's ceiling, or the numbers in the current window still breach a limit."""

    def __init__(self, agent_id: str, to_level: int, reason: str) -> None:
        Conflict.__init__(
            self, f"autonomy of agent {agent_id!r} cannot be raised to {to_level}: {reason}"
        )
        self.agent_id = agent_id
        self.to_level = to_level
        self.reason = reason


class LowerRefused(AutonomyError, Conflict):
    """A manual lowering that is not allowed: by someone who does not answer for the
    agent, or not below its current level."""

    def __init__(self, agent_id: str, reason: str) -> None:
        Conflict.__init__(self, f"autonomy of agent {agent_id!r} cannot be lowered: {reason}")
        self.agent_id = agent_id
        self.reason = reason

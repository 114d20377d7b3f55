"""Errors of control: one class per failure, under ControlError. No HTTP codes."""

from __future__ import annotations

from typing import Literal

from cogov.core.errors import CogovError, Conflict, NotFound, ValidationFailed


class ControlError(CogovError):
    """Base of control's errors."""


class ConfigInvalid(ControlError):
    """A process, negative-list or routing file is malformed."""

    def __init__(self, source: str, reason: str, *, line: int | None = None) -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason


class RuleCompileError(ConfigInvalid):
    """A negative-list rule's CEL expression does not compile (or reads a variable
    or field that does not exist). Refused at load, naming its line."""

    def __init__(self, source: str, line: int, rule_id: str, reason: str) -> None:
        super().__init__(source, f"rule {rule_id!r}: {reason}", line=line)
        self.rule_id = rule_id


class TransitionRefused(Conflict, ControlError):
    """A step outside the case's standard process, or by an actor who may not take it."""

    def __init__(self, case_id: str, from_state: str, to_state: str, reason: str) -> None:
        super().__init__(f"case {case_id}: {from_state} -> {to_state} refused: {reason}")
        self.case_id = case_id
        self.from_state = from_state
        self.to_state = to_state
        self.reason = reason


class WorkflowNotFound(NotFound, ControlError):
    def __init__(self, case_id: str) -> None:
        super().__init__("case workflow", case_id)


class ProposalNotFound(NotFound, ControlError):
    def __init__(self, proposal_id: str) -> None:
        super().__init__("proposal", proposal_id)


class ProposalNotPending(Conflict, ControlError):
    """A human decision arrived for a proposal that is not waiting for one."""

    def __init__(self, proposal_id: str, state: str) -> None:
        super().__init__(f"proposal {proposal_id} is {state}, not pending review")
        self.proposal_id = proposal_id
        self.state = state


class InvalidDecision(ValidationFailed, ControlError):
    """A human decision or an action's value is malformed (names the field)."""


MergeProblem = Literal["empty", "itself", "unknown", "merged", "has_repeats"]


class MergeRefused(ValidationFailed, ControlError):
    """A case cannot be merged into the one named in ``into``. ``problem`` says why
    (for adapters that word it in their own language): ``empty``, ``itself``,
    ``unknown``, ``merged`` (that case is itself merged into ``other``: merge into
    that one), or ``has_repeats`` (the case being merged has repeats merged into it,
    ``other`` one of them: merge ``into`` into it instead). The last two keep every
    repeat pointing at a case that is not merged: no chain forms."""

    def __init__(self, problem: MergeProblem, into: str, other: str | None = None) -> None:
        reasons: dict[MergeProblem, str] = {
            "empty": "names the case this one repeats",
            "itself": "a case cannot be merged into itself",
            "unknown": f"no case {into!r} to merge into",
            "merged": f"case {into} is itself merged into case {other}: merge into that one",
            "has_repeats": f"this case has repeats merged into it (case {other}): merge case "
            f"{into} into this one instead",
        }
        super().__init__("into", reasons[problem])
        self.problem = problem
        self.into = into
        self.other = other

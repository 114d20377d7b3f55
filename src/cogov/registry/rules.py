"""The filing lifecycle as data (pure): which step leads from which status to which.

draft -> submitted -> approved -> active -> suspended -> retired; suspended -> active
when reinstated; any status but retired -> retired. Checks that need the database
(guardians, roles, sandbox report) live in the service.
"""

from __future__ import annotations

from enum import StrEnum


class FilingStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    RETIRED = "retired"


class Step(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    ACTIVATE = "activate"
    SUSPEND = "suspend"
    RETIRE = "retire"


# step -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[Step, tuple[frozenset[FilingStatus], FilingStatus]] = {
    Step.SUBMIT: (frozenset({FilingStatus.DRAFT}), FilingStatus.SUBMITTED),
    Step.APPROVE: (frozenset({FilingStatus.SUBMITTED}), FilingStatus.APPROVED),
    Step.ACTIVATE: (
        frozenset({FilingStatus.APPROVED, FilingStatus.SUSPENDED}),
        FilingStatus.ACTIVE,
    ),
    Step.SUSPEND: (frozenset({FilingStatus.ACTIVE}), FilingStatus.SUSPENDED),
    Step.RETIRE: (
        frozenset(
            {
                FilingStatus.DRAFT,
                FilingStatus.SUBMITTED,
                FilingStatus.APPROVED,
                FilingStatus.ACTIVE,
                FilingStatus.SUSPENDED,
            }
        ),
        FilingStatus.RETIRED,
    ),
}

# The ledger kind of each step (activation from suspended is a reinstatement).
LEDGER_KIND = {
    Step.SUBMIT: "filing.submitted",
    Step.APPROVE: "filing.approved",
    Step.ACTIVATE: "filing.activated",
    Step.SUSPEND: "filing.suspended",
    Step.RETIRE: "filing.retired",
}


def next_status(step: Step, current: FilingStatus) -> FilingStatus | None:
    """The status ``step`` leads to from ``current``, or None when it may not be taken."""
    sources, target = TRANSITIONS[step]
    return target if current in sources else None


def allowed_from(step: Step) -> list[FilingStatus]:
    sources, _ = TRANSITIONS[step]
    return sorted(sources, key=list(FilingStatus).index)

"""Audits on the live database (/api/v1/audits): efficiency, fairness with
disparities and intervals, and responsibility reports. Read-only; auditors and
administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from cogov.api.auth import Principal, SignedInReadSession, require_roles
from cogov.api.deps import ClockDep
from cogov.api.errors import responses
from cogov.audit import AuditOptions, FairnessOptions, OnTimeRule, run_audit
from cogov.audit.live import frame_from_database
from cogov.audit.responsibility import responsibility_for_case, responsibility_for_period
from cogov.core.errors import ValidationFailed
from cogov.core.types import Role

router = APIRouter(prefix="/api/v1/audits", tags=["audits"])

# Audits only read: signed in before their read-only session (SignedInReadSession).
Auditing = Annotated[
    Principal, Depends(require_roles(Role.AUDITOR, Role.ADMINISTRATOR, reading=True))
]
# Bootstrap replicates cost time on every request; the CLI has no such cap.
MAX_REPLICATES = 2000


class EfficiencyOut(BaseModel):
    period: str
    overall: dict[str, Any]
    by: dict[str, list[dict[str, Any]]]


class FairnessOut(BaseModel):
    group: str
    rows: list[dict[str, Any]] = Field(
        description="One row per (group value, metric): value, n, interval, disparity, flags."
    )
    summary: list[dict[str, Any]]
    warnings: list[str]
    flagged: list[dict[str, Any]]


class AuditOut(BaseModel):
    source: str
    cases: int
    generated_at: str
    options: dict[str, Any]
    metrics_with_data: list[str]
    notes: list[str]
    efficiency: EfficiencyOut
    fairness: list[FairnessOut]
    coverage: dict[str, Any] | None
    responsibility: list[dict[str, Any]]


class ProposalReportOut(BaseModel):
    case_id: str
    proposal_id: str
    action: str
    confidence: float | None
    threshold_in_force: float | None
    filed_threshold: float | None
    grade: str | None
    outcome: str | None
    appeal_upheld: bool | None
    wrong: bool
    findings: list[dict[str, Any]] = Field(
        description="Which part failed and who answers for it, each citing ledger entries."
    )
    ledger_seqs: list[int]


def _check_period(received_from: datetime | None, received_to: datetime | None) -> None:
    for name, moment in (("received_from", received_from), ("received_to", received_to)):
        if moment is not None and moment.tzinfo is None:
            raise ValidationFailed(name, "must carry a time zone (Z or an offset)")
    if received_from and received_to and received_to < received_from:
        raise ValidationFailed("received_to", "is before received_from")


@router.get(
    "/live",
    response_model=AuditOut,
    summary="Audit the live database: efficiency, fairness by group, responsibility",
    responses=responses(401, 403, 422),
)
def live_audit(
    _who: Auditing,
    session: SignedInReadSession,
    clock: ClockDep,
    group: Annotated[
        list[str] | None,
        Query(
            description="Group columns (repeat); default: channel, assisted and every "
            "group attribute the agency records."
        ),
    ] = None,
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    reference: Annotated[
        str, Query(max_length=200, description="largest, best, or a group's value.")
    ] = "largest",
    min_group_size: Annotated[int, Query(ge=1, le=1_000_000)] = 30,
    replicates: Annotated[int, Query(ge=0, le=MAX_REPLICATES)] = 200,
    level: Annotated[float, Query(gt=0, lt=1)] = 0.95,
    period: Literal["day", "week", "month", "quarter", "year"] = "month",
    target_hours: Annotated[
        float | None, Query(gt=0, description="On-time target for every service, in hours.")
    ] = None,
) -> AuditOut:
    _check_period(received_from, received_to)
    groups = tuple(group or ())
    frame = frame_from_database(
        session, groups=groups, received_from=received_from, received_to=received_to
    )
    unknown = [name for name in groups if name not in frame.data.columns]
    if unknown:
        # The audit itself does not name an unknown group column yet: say it here.
        available = ", ".join(sorted(frame.data.columns))
        raise ValidationFailed("group", f"{unknown[0]!r} is not a column; columns: {available}")
    options = AuditOptions(
        fairness=FairnessOptions(
            reference=reference,
            min_group_size=min_group_size,
            replicates=replicates,
            level=level,
        ),
        on_time=OnTimeRule(default_hours=target_hours),
        period=period,
        groups=groups,
    )
    report = run_audit(frame, options=options, clock=clock)
    return AuditOut.model_validate(report.to_dict())


@router.get(
    "/responsibility/cases/{case_id}",
    response_model=list[ProposalReportOut],
    summary="Responsibility report for one case: per proposal, what failed and who answers",
    responses=responses(401, 403, 404),
)
def case_responsibility(
    case_id: str, _who: Auditing, session: SignedInReadSession
) -> list[ProposalReportOut]:
    reports = responsibility_for_case(session, case_id=case_id)
    return [ProposalReportOut.model_validate(report.as_dict()) for report in reports]


@router.get(
    "/responsibility",
    response_model=list[ProposalReportOut],
    summary="Responsibility reports for every overridden proposal and upheld appeal in a period",
    responses=responses(401, 403, 422),
)
def period_responsibility(
    _who: Auditing,
    session: SignedInReadSession,
    received_from: datetime | None = None,
    received_to: datetime | None = None,
) -> list[ProposalReportOut]:
    _check_period(received_from, received_to)
    reports = responsibility_for_period(
        session, received_from=received_from, received_to=received_to
    )
    return [ProposalReportOut.model_validate(report.as_dict()) for report in reports]

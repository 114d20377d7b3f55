"""Use cases of the registry: file, grade, walk the lifecycle, bind guardians,
pause and resume. Keyword-only, take a session, never commit; every change
appends a ledger entry in the same transaction.

Refusals the ledger must keep (approving a prohibited use, activating a grade
III/IV agent without an approved sandbox report) append their entry and then
raise a ``RefusalRecorded`` error: the caller commits the session and reports
the error, so the record survives while nothing else changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cogov.core.canonical import canonical_json, sha256_hex
from cogov.core.clock import Clock, SystemClock
from cogov.core.ids import new_id
from cogov.core.text import control_character_problem
from cogov.core.types import Grade, Role
from cogov.identity import UserRead, find_users, require_active_user, require_role
from cogov.ledger import Responsible, append
from cogov.registry import repository
from cogov.registry.errors import (
    AgentNotFound,
    ConcurrentFiling,
    FilingInvalid,
    InvalidRegistryInput,
    NotPermitted,
    ProhibitedUseRefused,
    SandboxReportMissing,
    TransitionRefused,
    UnchangedFiling,
    VersionNotFound,
)
from cogov.registry.grading import AnswersInvalid, Assessment, assess
from cogov.registry.models import RegistryAgent, RegistryEvent, RegistryFiling
from cogov.registry.obligations import obligations_for
from cogov.registry.rules import LEDGER_KIND, FilingStatus, Step, allowed_from, next_status
from cogov.registry.schemas import (
    ActivePeriod,
    AgentRead,
    FilingDocument,
    FilingRead,
    HistoryEvent,
    PublicRegisterEntry,
    responsible_for,
)

_SYSTEM_CLOCK = SystemClock()
SYSTEM_ACTOR = "system:admin-cli"


# --- reading ---------------------------------------------------------------------------
def filing_from_row(row: RegistryFiling) -> FilingRead:
    """The read model of one stored filing version (for the registry's own modules)."""
    return FilingRead(
        agent_id=row.agent_id,
        version=row.version,
        status=FilingStatus(row.status),
        grade=Grade(row.grade),
        prohibited=row.prohibited,
        assessment=json.loads(row.assessment),
        document=FilingDocument.model_validate_json(row.document),
        document_hash=row.document_hash,
        filed_at=row.filed_at,
        filed_by=row.filed_by,
        submitted_by=row.submitted_by,
        status_changed_at=row.status_changed_at,
        sandbox_report_id=row.sandbox_report_id,
        sandbox_report_approved_by=row.sandbox_report_approved_by,
        sandbox_report_approved_at=row.sandbox_report_approved_at,
    )


def _agent_read(session: Session, agent: RegistryAgent) -> AgentRead:
    latest = repository.filing(session, agent.agent_id, _latest(session, agent.agent_id))
    assert latest is not None
    return AgentRead(
        agent_id=agent.agent_id,
        created_at=agent.created_at,
        active_version=agent.active_version,
        guardian=agent.guardian_username,
        backup_guardian=agent.backup_guardian_username,
        paused=agent.paused,
        paused_at=agent.paused_at,
        paused_by=agent.paused_by,
        pause_reason=agent.pause_reason,
        latest=filing_from_row(latest),
    )


def _load_agent(session: Session, agent_id: str, *, for_update: bool = False) -> RegistryAgent:
    agent = repository.agent(session, agent_id, for_update=for_update)
    if agent is None:
        raise AgentNotFound(agent_id)
    return agent


def _latest(session: Session, agent_id: str) -> int:
    version = repository.latest_version(session, agent_id)
    if version is None:
        raise AgentNotFound(agent_id)
    return version


def _load_filing(session: Session, agent_id: str, version: int) -> RegistryFiling:
    row = repository.filing(session, agent_id, version)
    if row is None:
        raise VersionNotFound(agent_id, version)
    return row


def get_agent(session: Session, *, agent_id: str) -> AgentRead:
    return _agent_read(session, _load_agent(session, agent_id))


def list_agents(session: Session) -> list[AgentRead]:
    return [_agent_read(session, agent) for agent in repository.agents(session)]


def get_filing(session: Session, *, agent_id: str, version: int | None = None) -> FilingRead:
    """One version of an agent's filing (the latest when ``version`` is None)."""
    _load_agent(session, agent_id)
    wanted = version if version is not None else _latest(session, agent_id)
    return filing_from_row(_load_filing(session, agent_id, wanted))


def list_filings(session: Session, *, agent_id: str) -> list[FilingRead]:
    _load_agent(session, agent_id)
    return [filing_from_row(row) for row in repository.filings(session, agent_id)]


def history(session: Session, *, agent_id: str) -> list[HistoryEvent]:
    """Every step taken on the agent, oldest first."""
    _load_agent(session, agent_id)
    return [_history_event(row) for row in repository.events(session, agent_id)]


def _history_event(row: RegistryEvent) -> HistoryEvent:
    return HistoryEvent(
        agent_id=row.agent_id,
        version=row.version,
        action=row.action,
        from_status=FilingStatus(row.from_status) if row.from_status else None,
        to_status=FilingStatus(row.to_status) if row.to_status else None,
        actor=row.actor,
        reason=row.reason,
        at=row.at,
        ledger_seq=row.ledger_seq,
    )


def active_periods(session: Session, *, agent_id: str) -> list[ActivePeriod]:
    """Which version was active when: one period per activation, oldest first."""
    return _periods(history(session, agent_id=agent_id))


def _periods(events: Sequence[HistoryEvent]) -> list[ActivePeriod]:
    """The active periods an agent's steps (oldest first) make; steps that neither
    start nor end a version's being active change nothing."""
    periods: list[ActivePeriod] = []
    open_period: dict[int, datetime] = {}
    for event in events:
        if event.version is None:
            continue
        if event.to_status is FilingStatus.ACTIVE:
            open_period[event.version] = event.at
        elif event.from_status is FilingStatus.ACTIVE and event.version in open_period:
            started = open_period.pop(event.version)
            periods.append(ActivePeriod(version=event.version, active_from=started,
                                        active_until=event.at))  # fmt: skip
    periods.extend(
        ActivePeriod(version=version, active_from=started, active_until=None)
        for version, started in open_period.items()
    )
    return sorted(periods, key=lambda p: p.active_from)


def agents_for_service(session: Session, *, service_code: str) -> list[str]:
    """Agents with an active version whose scope names ``service_code`` (the gate
    still decides whether each may act: it may be paused or unguarded)."""
    return agents_for_services(session, service_codes=[service_code])[service_code]


def agents_for_services(session: Session, *, service_codes: Sequence[str]) -> dict[str, list[str]]:
    """:func:`agents_for_service` for many services at once, keyed by service code
    (the active filings are read once)."""
    scopes: list[tuple[str, set[str]]] = []
    for agent in repository.active_agents(session):
        assert agent.active_version is not None
        row = _load_filing(session, agent.agent_id, agent.active_version)
        scopes.append((agent.agent_id, set(json.loads(row.document)["services"])))
    return {
        code: [agent_id for agent_id, scope in scopes if code in scope] for code in service_codes
    }


# --- filing -------------------------------------------------------------------------------
def grade_answers(answers: Mapping[str, object], *, purpose: str = "") -> Assessment:
    """Score a questionnaire alone (no filing); raises FilingInvalid naming bad answers."""
    try:
        return assess(answers, purpose=purpose)
    except AnswersInvalid as exc:
        raise FilingInvalid(exc.problems) from None


def _actor(session: Session, by: str | None, role: Role = Role.ADMINISTRATOR) -> str:
    if by is None:
        return SYSTEM_ACTOR
    return require_role(session, username=by, role=role).actor


def _check_reason(reason: str) -> str:
    if problem := control_character_problem(reason):
        raise InvalidRegistryInput("reason", problem)
    cleaned = " ".join(reason.split())
    if not cleaned:
        raise InvalidRegistryInput("reason", "must not be empty")
    if len(cleaned) > 2000:
        raise InvalidRegistryInput("reason", "must be at most 2000 characters")
    return cleaned


def _record(
    session: Session,
    *,
    kind: str,
    action: str,
    agent_id: str,
    version: int | None,
    actor: str,
    reason: str | None,
    responsible: Responsible,
    payload: dict[str, Any],
    from_status: FilingStatus | None = None,
    to_status: FilingStatus | None = None,
    clock: Clock | None,
) -> None:
    """Append the ledger entry and the history row of one step."""
    body: dict[str, Any] = {"agent_id": agent_id, "version": version, **payload}
    if from_status is not None:
        body["from"] = from_status.value
    if to_status is not None:
        body["to"] = to_status.value
    if reason is not None:
        body["reason"] = reason
    entry = append(
        session, kind=kind, actor=actor, payload=body, responsible=responsible, clock=clock
    )
    repository.add(
        session,
        RegistryEvent(
            id=new_id(),
            agent_id=agent_id,
            version=version,
            action=action,
            from_status=from_status.value if from_status else None,
            to_status=to_status.value if to_status else None,
            actor=actor,
            reason=reason,
            at=(clock or _SYSTEM_CLOCK).now(),
            ledger_seq=entry.seq,
        ),
    )


def file_agent(
    session: Session,
    *,
    document: FilingDocument,
    by: str | None = None,
    clock: Clock | None = None,
) -> FilingRead:
    """File a new version of an agent (version 1 for a new agent) as a draft,
    graded by its questionnaire. Prohibited uses may be filed (never approved)."""
    if document.backup_guardian == document.guardian:
        raise FilingInvalid([("backup_guardian", "must be a different user from guardian")])
    assessment = grade_answers(document.impact_assessment.answers, purpose=document.purpose)
    actor = _actor(session, by)
    now = (clock or _SYSTEM_CLOCK).now()
    text = canonical_json(document.model_dump(mode="json", exclude_none=True))
    digest = sha256_hex(text)
    agent = repository.agent(session, document.agent_id, for_update=True)
    if agent is None:
        agent = RegistryAgent(agent_id=document.agent_id, created_at=now, paused=False)
        # The agent row is this filing's first write, so losing the race leaves nothing.
        if not repository.add_new_agent(session, agent):
            raise ConcurrentFiling(document.agent_id)
        version = 1
    else:
        latest = _latest(session, document.agent_id)
        previous = _load_filing(session, document.agent_id, latest)
        if previous.document_hash == digest:
            raise UnchangedFiling(document.agent_id, latest)
        version = latest + 1
    row = RegistryFiling(
        id=new_id(),
        agent_id=document.agent_id,
        version=version,
        status=FilingStatus.DRAFT.value,
        agent_name=document.name,
        document=text,
        document_hash=digest,
        grade=assessment.grade.value,
        assessment=canonical_json(assessment.as_dict()),
        prohibited=assessment.is_prohibited,
        filed_at=now,
        filed_by=actor,
        submitted_by=None,
        status_changed_at=now,
    )
    repository.add(session, row)
    filing = filing_from_row(row)
    _record(
        session,
        kind="filing.filed",
        action="filed",
        agent_id=document.agent_id,
        version=version,
        actor=actor,
        reason=None,
        responsible=filing.responsible,
        payload={
            "document_hash": digest,
            "grade": assessment.grade.value,
            "score_share": round(assessment.share, 4),
            "prohibited_uses": sorted({f.use.value for f in assessment.prohibited}),
        },
        to_status=FilingStatus.DRAFT,
        clock=clock,
    )
    return filing


# --- guardians ----------------------------------------------------------------------------
def guardian_problems(session: Session, *, guardian: str | None, backup: str | None) -> list[str]:
    """Sentences saying why the guardian pair cannot be on duty (empty: it can)."""
    users = find_users(session, usernames=[name for name in (guardian, backup) if name])
    return _guardian_problems(users, guardian=guardian, backup=backup)


def _guardian_problems(
    users: Mapping[str, UserRead], *, guardian: str | None, backup: str | None
) -> list[str]:
    """:func:`guardian_problems` with the users already read (by username)."""
    problems = []
    for label, name in (("guardian", guardian), ("backup guardian", backup)):
        if not name:
            problems.append(f"The agent has no {label}.")
            continue
        user = users.get(name)
        if user is None:
            problems.append(f"The {label} {name!r} is not a registered user.")
        elif not user.active:
            problems.append(f"The {label} {name!r} is disabled.")
        elif Role.REVIEWER not in user.roles:
            problems.append(f"The {label} {name!r} does not hold the reviewer role.")
    if guardian and guardian == backup:
        problems.append("The guardian and the backup guardian are the same person.")
    return problems


def assign_guardians(
    session: Session,
    *,
    agent_id: str,
    guardian: str,
    backup_guardian: str,
    by: str,
    reason: str,
    clock: Clock | None = None,
) -> AgentRead:
    """Put a new guardian pair on duty for the agent (e.g. when one leaves)."""
    reason = _check_reason(reason)
    actor = _actor(session, by)
    agent = _load_agent(session, agent_id, for_update=True)
    problems = guardian_problems(session, guardian=guardian, backup=backup_guardian)
    if problems:
        raise TransitionRefused(f"cannot assign guardians to {agent_id}: {' '.join(problems)}")
    before = (agent.guardian_username, agent.backup_guardian_username)
    agent.guardian_username = guardian
    agent.backup_guardian_username = backup_guardian
    session.flush()
    _record(
        session,
        kind="agent.guardians_assigned",
        action="guardians_assigned",
        agent_id=agent_id,
        version=agent.active_version,
        actor=actor,
        reason=reason,
        responsible=Responsible(guardian=f"user:{guardian}"),
        payload={
            "guardian": guardian,
            "backup_guardian": backup_guardian,
            "previous_guardian": before[0],
            "previous_backup_guardian": before[1],
        },
        clock=clock,
    )
    return _agent_read(session, agent)


def agents_guarded_by(session: Session, *, username: str) -> list[str]:
    """Agents on whose duty roster ``username`` stands (as guardian or backup): the
    ones that stop acting if that user is disabled or loses the reviewer role."""
    return [agent.agent_id for agent in repository.guarded_by(session, username)]


def _may_operate_kill_switch(session: Session, agent: RegistryAgent, by: str) -> str:
    user = require_active_user(session, username=by)
    if by in (agent.guardian_username, agent.backup_guardian_username):
        return user.actor
    if Role.ADMINISTRATOR in user.roles:
        return user.actor
    raise NotPermitted(
        f"user {by!r} is neither a guardian of {agent.agent_id} nor an administrator"
    )


def pause_agent(
    session: Session, *, agent_id: str, by: str, reason: str, clock: Clock | None = None
) -> AgentRead:
    """The kill switch: the agent stops acting at once (the gate says no) until resumed."""
    reason = _check_reason(reason)
    agent = _load_agent(session, agent_id, for_update=True)
    actor = _may_operate_kill_switch(session, agent, by)
    if agent.paused:
        raise TransitionRefused(f"cannot pause {agent_id}: it is already paused")
    agent.paused = True
    agent.paused_at = (clock or _SYSTEM_CLOCK).now()
    agent.paused_by = by
    agent.pause_reason = reason
    session.flush()
    _record(
        session,
        kind="agent.paused",
        action="paused",
        agent_id=agent_id,
        version=agent.active_version,
        actor=actor,
        reason=reason,
        responsible=Responsible(guardian=_guardian_actor(agent)),
        payload={},
        clock=clock,
    )
    return _agent_read(session, agent)


def resume_agent(
    session: Session, *, agent_id: str, by: str, reason: str, clock: Clock | None = None
) -> AgentRead:
    reason = _check_reason(reason)
    agent = _load_agent(session, agent_id, for_update=True)
    actor = _may_operate_kill_switch(session, agent, by)
    if not agent.paused:
        raise TransitionRefused(f"cannot resume {agent_id}: it is not paused")
    agent.paused = False
    agent.paused_at = None
    agent.paused_by = None
    agent.pause_reason = None
    session.flush()
    _record(
        session,
        kind="agent.resumed",
        action="resumed",
        agent_id=agent_id,
        version=agent.active_version,
        actor=actor,
        reason=reason,
        responsible=Responsible(guardian=_guardian_actor(agent)),
        payload={},
        clock=clock,
    )
    return _agent_read(session, agent)


def _guardian_actor(agent: RegistryAgent) -> str | None:
    return f"user:{agent.guardian_username}" if agent.guardian_username else None


def attach_sandbox_report(
    session: Session,
    *,
    agent_id: str,
    version: int,
    report_id: str,
    report_hash: str,
    by: str,
    reason: str,
    clock: Clock | None = None,
) -> FilingRead:
    """Record that an approved sandbox report covers this version (the sandbox calls
    this once a report is approved; grades III and IV need it before activation)."""
    reason = _check_reason(reason)
    if not report_id.strip() or len(report_id) > 200:
        raise InvalidRegistryInput("report_id", "must be 1-200 characters")
    if len(report_hash) != 64 or any(c not in "0123456789abcdef" for c in report_hash):
        raise InvalidRegistryInput("report_hash", "must be a SHA-256 in 64 lower-case hex digits")
    actor = _actor(session, by, Role.REVIEWER)
    _load_agent(session, agent_id, for_update=True)
    row = _load_filing(session, agent_id, version)
    if row.status == FilingStatus.RETIRED.value:
        raise TransitionRefused(f"cannot attach a sandbox report to {agent_id} v{version}: retired")
    row.sandbox_report_id = report_id
    row.sandbox_report_hash = report_hash
    row.sandbox_report_approved_by = by
    row.sandbox_report_approved_at = (clock or _SYSTEM_CLOCK).now()
    session.flush()
    filing = filing_from_row(row)
    _record(
        session,
        kind="filing.sandbox_report_attached",
        action="sandbox_report_attached",
        agent_id=agent_id,
        version=version,
        actor=actor,
        reason=reason,
        responsible=filing.responsible,
        payload={"report_id": report_id, "report_hash": report_hash},
        clock=clock,
    )
    return filing


# --- lifecycle -----------------------------------------------------------------------------
def _refuse_and_record(
    session: Session,
    *,
    error: type[ProhibitedUseRefused] | type[SandboxReportMissing],
    kind: str,
    step: Step,
    row: RegistryFiling,
    actor: str,
    reason: str,
    message: str,
    payload: dict[str, Any],
    clock: Clock | None,
) -> None:
    filing = filing_from_row(row)
    _record(
        session,
        kind=kind,
        action=f"{step.value}_refused",
        agent_id=row.agent_id,
        version=row.version,
        actor=actor,
        reason=reason,
        responsible=filing.responsible,
        payload={"refusal": message, **payload},
        from_status=filing.status,
        clock=clock,
    )
    raise error(message)


def _check_approval(
    session: Session, row: RegistryFiling, by: str, actor: str, reason: str, clock: Clock | None
) -> None:
    filing = filing_from_row(row)
    label = f"{row.agent_id} v{row.version}"
    if filing.prohibited:
        uses = sorted({f.use for f in filing.assessment.prohibited})
        message = (
            f"cannot approve {label}: it describes a prohibited use ({', '.join(uses)}); "
            "such a filing may be filed but never approved"
        )
        _refuse_and_record(
            session,
            error=ProhibitedUseRefused,
            kind="filing.approval_refused",
            step=Step.APPROVE,
            row=row,
            actor=actor,
            reason=reason,
            message=message,
            payload={"prohibited_uses": uses},
            clock=clock,
        )
    if row.submitted_by == by:
        raise TransitionRefused(
            f"cannot approve {label}: {by!r} submitted it; "
            "a different administrator must approve it (four-eyes rule)"
        )
    security = filing.document.security_assessment.status
    if security != "passed":
        raise TransitionRefused(
            f"cannot approve {label}: its security assessment is {security}; approval needs passed"
        )
    ethics = filing.document.ethics_review.status
    if ethics == "rejected":
        raise TransitionRefused(f"cannot approve {label}: its ethics review rejected it")
    if filing.grade in (Grade.III, Grade.IV) and ethics != "approved":
        raise TransitionRefused(
            f"cannot approve {label}: grade {filing.grade} needs an approved ethics review "
            f"(it is {ethics})"
        )


def _check_activation(
    session: Session,
    agent: RegistryAgent,
    row: RegistryFiling,
    actor: str,
    reason: str,
    clock: Clock | None,
) -> tuple[str | None, str | None]:
    """Checks before activation; returns the guardian pair to put on duty."""
    filing = filing_from_row(row)
    label = f"{row.agent_id} v{row.version}"
    if filing.prohibited:  # never approved, so never here; kept as a second lock
        raise TransitionRefused(f"cannot activate {label}: it describes a prohibited use")
    if row.status == FilingStatus.SUSPENDED.value and agent.guardian_username:
        pair = (agent.guardian_username, agent.backup_guardian_username)
    else:
        pair = (filing.document.guardian, filing.document.backup_guardian)
    problems = guardian_problems(session, guardian=pair[0], backup=pair[1])
    if problems:
        raise TransitionRefused(f"cannot activate {label}: {' '.join(problems)}")
    if filing.obligations.needs_sandbox_report and row.sandbox_report_id is None:
        message = (
            f"cannot activate {label}: grade {filing.grade} needs an approved sandbox report "
            "before activation, and none is attached"
        )
        _refuse_and_record(
            session,
            error=SandboxReportMissing,
            kind="filing.activation_refused",
            step=Step.ACTIVATE,
            row=row,
            actor=actor,
            reason=reason,
            message=message,
            payload={"grade": filing.grade.value, "missing": "sandbox_report"},
            clock=clock,
        )
    return pair


def _transition(
    session: Session,
    *,
    step: Step,
    agent_id: str,
    version: int | None,
    by: str,
    reason: str,
    clock: Clock | None,
) -> FilingRead:
    reason = _check_reason(reason)
    actor = _actor(session, by)
    agent = _load_agent(session, agent_id, for_update=True)
    if version is None:
        version = (
            agent.active_version
            if step is Step.SUSPEND and agent.active_version
            else _latest(session, agent_id)
        )
    row = _load_filing(session, agent_id, version)
    current = FilingStatus(row.status)
    target = next_status(step, current)
    if target is None:
        needs = " or ".join(s.value for s in allowed_from(step))
        raise TransitionRefused(
            f"cannot {step.value} {agent_id} v{version}: it is {current.value}; "
            f"{step.value} needs {needs}"
        )
    kind = LEDGER_KIND[step]
    if step is Step.APPROVE:
        _check_approval(session, row, by, actor, reason, clock)
    if step is Step.ACTIVATE:
        guardian, backup = _check_activation(session, agent, row, actor, reason, clock)
        if current is FilingStatus.SUSPENDED:
            kind = "filing.reinstated"
        if agent.active_version is not None and agent.active_version != version:
            _supersede(session, agent, version, actor, clock)
        agent.active_version = version
        agent.guardian_username = guardian
        agent.backup_guardian_username = backup
    if step in (Step.SUSPEND, Step.RETIRE) and agent.active_version == version:
        agent.active_version = None
    now = (clock or _SYSTEM_CLOCK).now()
    row.status = target.value
    row.status_changed_at = now
    if step is Step.SUBMIT:
        row.submitted_by = by
    session.flush()
    filing = filing_from_row(row)
    _record(
        session,
        kind=kind,
        action=step.value,
        agent_id=agent_id,
        version=version,
        actor=actor,
        reason=reason,
        responsible=responsible_for(filing, guardian=agent.guardian_username),
        payload={"grade": filing.grade.value},
        from_status=current,
        to_status=target,
        clock=clock,
    )
    return filing


def _supersede(
    session: Session, agent: RegistryAgent, new_version: int, actor: str, clock: Clock | None
) -> None:
    """Retire the version that was active when another one is activated."""
    assert agent.active_version is not None
    old = _load_filing(session, agent.agent_id, agent.active_version)
    old.status = FilingStatus.RETIRED.value
    old.status_changed_at = (clock or _SYSTEM_CLOCK).now()
    session.flush()
    filing = filing_from_row(old)
    _record(
        session,
        kind="filing.retired",
        action="superseded",
        agent_id=agent.agent_id,
        version=old.version,
        actor=actor,
        reason=f"superseded by version {new_version}",
        responsible=responsible_for(filing, guardian=agent.guardian_username),
        payload={"grade": filing.grade.value, "superseded_by": new_version},
        from_status=FilingStatus.ACTIVE,
        to_status=FilingStatus.RETIRED,
        clock=clock,
    )


def submit(
    session: Session, *, agent_id: str, by: str, reason: str,
    version: int | None = None, clock: Clock | None = None,
) -> FilingRead:  # fmt: skip
    """draft -> submitted (latest version unless ``version`` is given)."""
    return _transition(session, step=Step.SUBMIT, agent_id=agent_id, version=version, by=by,
                       reason=reason, clock=clock)  # fmt: skip


def approve(
    session: Session, *, agent_id: str, by: str, reason: str,
    version: int | None = None, clock: Clock | None = None,
) -> FilingRead:  # fmt: skip
    """submitted -> approved, by an administrator other than the submitter, with a
    passed security assessment; a prohibited use is refused and the refusal recorded."""
    return _transition(session, step=Step.APPROVE, agent_id=agent_id, version=version, by=by,
                       reason=reason, clock=clock)  # fmt: skip


def activate(
    session: Session, *, agent_id: str, by: str, reason: str,
    version: int | None = None, clock: Clock | None = None,
) -> FilingRead:  # fmt: skip
    """approved or suspended -> active, with guardians on duty; grades III/IV need an
    approved sandbox report (a missing one is refused and the refusal recorded)."""
    return _transition(session, step=Step.ACTIVATE, agent_id=agent_id, version=version, by=by,
                       reason=reason, clock=clock)  # fmt: skip


def suspend(
    session: Session, *, agent_id: str, by: str, reason: str,
    version: int | None = None, clock: Clock | None = None,
) -> FilingRead:  # fmt: skip
    """active -> suspended (the active version unless ``version`` is given)."""
    return _transition(session, step=Step.SUSPEND, agent_id=agent_id, version=version, by=by,
                       reason=reason, clock=clock)  # fmt: skip


def retire(
    session: Session, *, agent_id: str, by: str, reason: str,
    version: int | None = None, clock: Clock | None = None,
) -> FilingRead:  # fmt: skip
    """any status but retired -> retired."""
    return _transition(session, step=Step.RETIRE, agent_id=agent_id, version=version, by=by,
                       reason=reason, clock=clock)  # fmt: skip


# --- public register -----------------------------------------------------------------------
def public_register(session: Session, *, agent_id: str | None = None) -> list[PublicRegisterEntry]:
    """Tier-1 plain-language facts about every active agent (or only ``agent_id`` when
    it is active), for the public pages. Every agent is read at once, so an anonymous
    visitor costs the same few queries however many agents there are: the active agents
    with their active filings, the steps that began and ended their active periods, and
    their guardians' user records. Each entry equals what the per-agent reads
    (:func:`get_filing`, :func:`active_periods`, :func:`guardian_problems`) give."""
    active = repository.active_filings(session, agent_id=agent_id)
    if not active:
        return []
    steps: dict[str, list[HistoryEvent]] = {}
    for row in repository.activity_events(session, [agent.agent_id for agent, _ in active]):
        steps.setdefault(row.agent_id, []).append(_history_event(row))
    names = {agent.guardian_username for agent, _ in active}
    names |= {agent.backup_guardian_username for agent, _ in active}
    users = find_users(session, usernames=sorted(name for name in names if name))
    entries = []
    for agent, active_filing in active:
        filing = filing_from_row(active_filing)
        doc = filing.document
        obligations = obligations_for(filing.grade)
        periods = _periods(steps.get(agent.agent_id, []))
        entries.append(
            PublicRegisterEntry(
                agent_id=agent.agent_id,
                version=filing.version,
                name=doc.name,
                summary=doc.public_summary,
                purpose=doc.purpose,
                services=doc.services,
                grade=filing.grade,
                human_oversight_en=obligations.summary_en,
                human_oversight_zh=obligations.summary_zh,
                human_intervention=doc.human_intervention,
                how_to_appeal=doc.appeal,
                languages=doc.languages,
                operating_department=doc.operating_department,
                developer=doc.developer.organisation,
                deployer=doc.deployer.organisation,
                has_guardian_on_duty=not _guardian_problems(
                    users, guardian=agent.guardian_username, backup=agent.backup_guardian_username
                ),
                paused=agent.paused,
                active_since=periods[-1].active_from if periods else None,
                public_contact=doc.public_contact,
                website=doc.website,
            )
        )
    return entries

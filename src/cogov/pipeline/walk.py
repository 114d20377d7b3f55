"""One case through the governed path (DESIGN.md, "The walk of one case"):

intake -> the agents deployed for its service (registry gate) -> each agent's
engine proposes -> control records, checks and routes every proposal -> what an
agent may do takes effect, the rest is queued for its guardian's team -> every
step in the ledger, in the caller's one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from cogov.control import (
    AgentContext,
    GovernedCase,
    Obligations,
    ProposalRead,
    WorkflowRead,
    get_workflow,
    govern,
    open_workflow,
    record_config,
)
from cogov.control.autonomy.service import current_level
from cogov.core.errors import CogovError
from cogov.db.session import unit_of_work
from cogov.intake import CaseRead, InvalidRequest, ServiceRequestIn, submit, validate
from cogov.ledger import Responsible, append
from cogov.pipeline.deployment import Deployment, engine_features
from cogov.registry.gate import gate
from cogov.registry.schemas import GateDecision
from cogov.registry.service import agents_for_service
from cogov.review import enqueue
from cogov.triage.protocol import CaseView, Proposal, TriageEngine

_CACHE = "cogov.pipeline.cache"


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_CACHE, None)


# The registry's answers hold for one transaction only: once it ends, a guardian may
# pause an agent or a filing may change, so the next transaction asks again.
event.listen(Session, "after_commit", _forget)
event.listen(Session, "after_rollback", _forget)
event.listen(Session, "after_soft_rollback", _forget)


def _cached(session: Session, key: tuple[str, ...], compute: Callable[[], Any]) -> Any:
    cache: dict[tuple[str, ...], Any] = session.info.setdefault(_CACHE, {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


@runtime_checkable
class OpenCaseIndex(Protocol):
    """An engine that remembers open cases (e.g. to spot repeats of them): the
    pipeline tells it of every new case once the case is stored."""

    def add(self, case: CaseView) -> None: ...

    def remove(self, case_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class AgentRun:
    """What one agent did on one case: refused by the gate, failed, or governed."""

    agent_id: str
    allowed: bool
    reasons: tuple[str, ...] = ()
    governed: GovernedCase | None = None
    review_item_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    case: CaseRead
    citizen_token: str
    replayed: bool
    workflow: WorkflowRead
    runs: tuple[AgentRun, ...] = ()

    @property
    def proposals(self) -> tuple[ProposalRead, ...]:
        return tuple(p for run in self.runs if run.governed for p in run.governed.proposals)

    @property
    def needs_human(self) -> bool:
        """A person must act: something waits for review, or no agent could help."""
        return not self.proposals or any(p.needs_human for p in self.proposals)


def _view(case: CaseRead) -> CaseView:
    """What an engine may see: never contact details, never group attributes."""
    return CaseView(
        case_id=case.id,
        description=case.description,
        service_code=case.service_code,
        language=case.language,
        channel=case.channel.value,
        created_at=datetime.fromisoformat(case.received_at.replace("Z", "+00:00")),
        address_key=case.address_key,
        latitude=case.latitude,
        longitude=case.longitude,
        extra_text={k: v for k, v in case.attributes.items() if isinstance(v, str)},
    )


def _agent_context(
    session: Session, decision: GateDecision, engine: TriageEngine, threshold: float
) -> AgentContext:
    raw = decision.obligations or {}
    obligations = Obligations(
        suggest_only=bool(raw.get("suggest_only", False)),
        human_approves_citizen_affecting=bool(raw.get("human_approves_citizen_affecting", False)),
        review_sample_rate=float(raw.get("review_sample_rate", 0.0)),
        max_autonomy_level=int(raw.get("max_autonomy_level", 0)),
    )
    level = _cached(
        session,
        ("level", decision.agent_id),
        lambda: current_level(session, decision.agent_id, ceiling=obligations.max_autonomy_level),
    )
    identity = engine.identity
    return AgentContext(
        agent_id=decision.agent_id,
        version=str(decision.version),
        grade=str(decision.grade.value if decision.grade else "unknown"),
        obligations=obligations,
        autonomy_level=int(level),
        engine_ref=identity.ref,
        model_hash=identity.model_hash,
        threshold=threshold,
        guardian=decision.guardian,
        features=engine_features(engine),
        developer_org=decision.developer_org,
        deployer_org=decision.deployer,
    )


def _why(proposal: ProposalRead) -> str:
    """Why a human must look: the check that decided, in its own words."""
    first = proposal.reasons[0] if proposal.reasons else {}
    return f"{proposal.verdict.value} by {proposal.verdict_by}: {first.get('reason', '')}"[:500]


def _refusal_reasons(decision: GateDecision, engine: TriageEngine) -> list[str]:
    if not decision.allowed:
        return list(decision.reasons)
    filed = decision.model_hash
    running = engine.identity.model_hash
    if filed and filed != running:
        return [
            f"The engine's model {running[:12]} is not the filed model {filed[:12]}: "
            "file the new model before it may act."
        ]
    return []


def process(
    session: Session,
    request: ServiceRequestIn | Mapping[str, Any],
    *,
    deployment: Deployment,
    idempotency_key: str | None = None,
    entered_by: str | None = None,
    source_ref: str | None = None,
) -> CaseOutcome:
    """Walk one request through the governed path in the caller's transaction.

    A retried submission (same idempotency key and body) returns the case as it
    stands, without walking it again. Raises InvalidRequest (naming every field at
    fault) before anything is stored.
    """
    clock = deployment.clock
    config_hash = record_config(
        session,
        config=deployment.control,
        thresholds=deployment.thresholds,
        clock=clock,
        config_hash=deployment.config_hash,
    )
    deployer = f"config:{config_hash}"
    submission = submit(
        session,
        request,
        config=deployment.intake,
        idempotency_key=idempotency_key,
        entered_by=entered_by,
        source_ref=source_ref,
        responsible=Responsible(deployer=deployer, operator=entered_by),
        clock=clock,
    )
    case = submission.case
    if submission.replayed:
        return CaseOutcome(
            case=case,
            citizen_token=submission.citizen_token,
            replayed=True,
            workflow=get_workflow(session, case_id=case.id),
        )
    workflow = open_workflow(session, case=case, config=deployment.control, clock=clock)
    now = clock.now()
    agent_ids = _cached(
        session,
        ("agents", case.service_code),
        lambda: [
            agent_id
            for agent_id in agents_for_service(session, service_code=case.service_code)
            if agent_id in deployment.engines
        ],
    )
    runs: list[AgentRun] = []
    view = _view(case)
    for agent_id in agent_ids:
        engine = deployment.engines[agent_id]
        decision: GateDecision = _cached(
            session,
            ("gate", agent_id, case.service_code),
            partial(gate, session, agent_id=agent_id, service_code=case.service_code, now=now),
        )
        refused = _refusal_reasons(decision, engine)
        if refused:
            append(
                session,
                kind="control.gate_refused",
                actor="system:pipeline",
                case_id=case.id,
                payload={"agent_id": agent_id, "reasons": refused},
                responsible=Responsible(deployer=deployer),
                clock=clock,
            )
            runs.append(AgentRun(agent_id, allowed=False, reasons=tuple(refused)))
            continue
        threshold = max(float(engine.threshold), float(decision.confidence_threshold or 0.0))
        agent = _agent_context(session, decision, engine, threshold)
        try:
            proposals: Sequence[Proposal] = engine.propose(view)
        except CogovError as exc:
            # An engine that cannot read this case leaves it to people; say so.
            append(
                session,
                kind="triage.failed",
                actor=f"agent:{agent_id}",
                case_id=case.id,
                payload={"agent_id": agent_id, "error": exc.message[:500]},
                responsible=agent.responsible(config_hash),
                clock=clock,
            )
            runs.append(AgentRun(agent_id, allowed=True, reasons=(exc.message,)))
            continue
        governed = govern(
            session,
            case=case,
            agent=agent,
            proposals=proposals,
            config=deployment.control,
            config_hash=config_hash,
            clock=clock,
        )
        items = [
            enqueue(
                session,
                case_id=case.id,
                proposal_id=proposal.id,
                agent_id=agent_id,
                team=decision.operating_department or f"guardians of {agent_id}",
                guardian=decision.guardian or "",
                backup_guardian=decision.backup_guardian or "",
                reason=_why(proposal),
                queued_by="system:control",
                policy=deployment.review_policy,
                clock=clock,
            ).id
            for proposal in governed.pending
        ]
        workflow = governed.workflow
        runs.append(AgentRun(agent_id, True, (), governed, tuple(items)))
    if workflow.state != "merged":  # a repeat is not an open case of its own
        for engine in deployment.engines.values():
            if isinstance(engine, OpenCaseIndex):
                engine.add(view)
    return CaseOutcome(
        case=case,
        citizen_token=submission.citizen_token,
        replayed=False,
        workflow=workflow,
        runs=tuple(runs),
    )


@dataclass
class BatchReport:
    """What a batch did: outcomes in order, and the requests refused with why."""

    outcomes: list[CaseOutcome] = field(default_factory=list)
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # (index, field, reason)


@dataclass(frozen=True, slots=True)
class BatchItem:
    request: ServiceRequestIn | Mapping[str, Any]
    idempotency_key: str | None = None
    entered_by: str | None = None
    source_ref: str | None = None


def process_batch(
    engine: Engine,
    items: Iterable[BatchItem],
    *,
    deployment: Deployment,
    batch_size: int = 200,
    on_case: Callable[[int, CaseOutcome], None] | None = None,
) -> BatchReport:
    """Walk many requests, committing every ``batch_size`` cases (one transaction
    each). A request refused by validation is reported and skipped; it never
    stops the batch, and nothing of it is stored."""
    report = BatchReport()
    pending: list[tuple[int, BatchItem, ServiceRequestIn]] = []

    def flush() -> None:
        if not pending:
            return
        with unit_of_work(engine) as session:
            for index, item, request in pending:
                outcome = process(
                    session,
                    request,
                    deployment=deployment,
                    idempotency_key=item.idempotency_key,
                    entered_by=item.entered_by,
                    source_ref=item.source_ref,
                )
                report.outcomes.append(outcome)
                if on_case is not None:
                    on_case(index, outcome)
        pending.clear()

    for index, item in enumerate(items):
        try:
            request = validate(
                item.request,
                config=deployment.intake,
                idempotency_key=item.idempotency_key,
                entered_by=item.entered_by,
            )
        except InvalidRequest as exc:
            report.refused.append((index, exc.field, exc.reason))
            continue
        pending.append((index, item, request))
        if len(pending) >= batch_size:
            flush()
    flush()
    return report

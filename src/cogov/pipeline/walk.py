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
from typing import Any, Protocol

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from cogov.control import (
    AgentContext,
    GovernBatch,
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
from cogov.intake import (
    CaseRead,
    IntakeBatch,
    InvalidRequest,
    ServiceRequestIn,
    Submission,
    submit,
    validate,
)
from cogov.ledger import EntryDraft, Responsible, append_draft, append_many
from cogov.pipeline.deployment import Deployment, engine_features
from cogov.pipeline.deployment import OpenCaseIndex as OpenCaseIndex  # re-exported
from cogov.pipeline.deployment import PreparesBatch as PreparesBatch  # re-exported
from cogov.registry.gate import gate, gate_services
from cogov.registry.schemas import GateDecision
from cogov.registry.service import agents_for_service, agents_for_services
from cogov.review import ReviewBatch, cancel_items, enqueue
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


def _agent_context(session: Session, decision: GateDecision, engine: TriageEngine) -> AgentContext:
    """Who acts and within which limits; the same for every case of a transaction
    with this agent and service (the gate's decision and the level are)."""
    threshold = max(float(engine.threshold), float(decision.confidence_threshold or 0.0))
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


def _coming_view(request: ServiceRequestIn) -> CaseView:
    """What an engine will see of a request not yet stored (no case id yet): for
    PreparesBatch hints only; the walk itself shows each engine the stored case."""
    return CaseView(
        case_id="",
        description=request.description,
        service_code=request.service_code,
        language=request.language,
        channel=request.channel.value,
        extra_text={k: v for k, v in request.attribute.items() if isinstance(v, str)},
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


class _Writes(Protocol):
    """Where a walk's rows and ledger entries go: straight into the session
    (:func:`process`), or collected and written once per batch (:func:`process_batch`),
    in the same transaction and the same order either way."""

    def submit(
        self,
        request: ServiceRequestIn | Mapping[str, Any],
        *,
        idempotency_key: str | None,
        entered_by: str | None,
        source_ref: str | None,
        responsible: Responsible,
    ) -> Submission: ...

    def workflow(self, case_id: str) -> WorkflowRead: ...

    def open(self, case: CaseRead) -> WorkflowRead: ...

    def log(self, draft: EntryDraft) -> None: ...

    def govern(
        self, *, case: CaseRead, agent: AgentContext, proposals: Sequence[Proposal]
    ) -> GovernedCase: ...

    def enqueue(
        self, proposal: ProposalRead, *, team: str, guardian: str, backup_guardian: str
    ) -> str: ...

    def cancel(self, proposals: Sequence[ProposalRead]) -> None: ...


@dataclass
class _Direct:
    """Each step written at once (one case in the caller's transaction)."""

    session: Session
    deployment: Deployment
    config_hash: str

    def submit(
        self,
        request: ServiceRequestIn | Mapping[str, Any],
        *,
        idempotency_key: str | None,
        entered_by: str | None,
        source_ref: str | None,
        responsible: Responsible,
    ) -> Submission:
        return submit(
            self.session,
            request,
            config=self.deployment.intake,
            idempotency_key=idempotency_key,
            entered_by=entered_by,
            source_ref=source_ref,
            responsible=responsible,
            clock=self.deployment.clock,
        )

    def workflow(self, case_id: str) -> WorkflowRead:
        return get_workflow(self.session, case_id=case_id)

    def open(self, case: CaseRead) -> WorkflowRead:
        return open_workflow(
            self.session, case=case, config=self.deployment.control, clock=self.deployment.clock
        )

    def log(self, draft: EntryDraft) -> None:
        append_draft(self.session, draft, clock=self.deployment.clock)

    def govern(
        self, *, case: CaseRead, agent: AgentContext, proposals: Sequence[Proposal]
    ) -> GovernedCase:
        return govern(
            self.session,
            case=case,
            agent=agent,
            proposals=proposals,
            config=self.deployment.control,
            config_hash=self.config_hash,
            clock=self.deployment.clock,
        )

    def enqueue(
        self, proposal: ProposalRead, *, team: str, guardian: str, backup_guardian: str
    ) -> str:
        return enqueue(
            self.session,
            case_id=proposal.case_id,
            proposal_id=proposal.id,
            agent_id=proposal.agent_id,
            team=team,
            guardian=guardian,
            backup_guardian=backup_guardian,
            reason=_why(proposal),
            queued_by="system:control",
            policy=self.deployment.review_policy,
            clock=self.deployment.clock,
        ).id

    def cancel(self, proposals: Sequence[ProposalRead]) -> None:
        cancel_items(self.session, proposals=proposals, clock=self.deployment.clock)


class _Batched:
    """Every step collected in memory and written at :meth:`write` with one bulk
    insert per table and one ledger append for the whole batch."""

    def __init__(self, session: Session, deployment: Deployment, config_hash: str) -> None:
        self.session = session
        self.deployment = deployment
        self.drafts: list[EntryDraft] = []
        clock = deployment.clock
        self.intake = IntakeBatch(
            session, config=deployment.intake, drafts=self.drafts, clock=clock
        )
        self.control = GovernBatch(
            session,
            config=deployment.control,
            config_hash=config_hash,
            drafts=self.drafts,
            clock=clock,
        )
        self.review = ReviewBatch(
            session, drafts=self.drafts, policy=deployment.review_policy, clock=clock
        )

    def submit(
        self,
        request: ServiceRequestIn | Mapping[str, Any],
        *,
        idempotency_key: str | None,
        entered_by: str | None,
        source_ref: str | None,
        responsible: Responsible,
    ) -> Submission:
        assert isinstance(request, ServiceRequestIn)  # validated by process_batch
        return self.intake.submit(
            request,
            idempotency_key=idempotency_key,
            entered_by=entered_by,
            source_ref=source_ref,
            responsible=responsible,
        )

    def workflow(self, case_id: str) -> WorkflowRead:
        return self.control.workflow(case_id)

    def open(self, case: CaseRead) -> WorkflowRead:
        return self.control.open(case)

    def log(self, draft: EntryDraft) -> None:
        self.drafts.append(draft)

    def govern(
        self, *, case: CaseRead, agent: AgentContext, proposals: Sequence[Proposal]
    ) -> GovernedCase:
        return self.control.govern(case=case, agent=agent, proposals=proposals)

    def enqueue(
        self, proposal: ProposalRead, *, team: str, guardian: str, backup_guardian: str
    ) -> str:
        return self.review.enqueue(
            proposal,
            team=team,
            guardian=guardian,
            backup_guardian=backup_guardian,
            reason=_why(proposal),
            queued_by="system:control",
        ).id

    def cancel(self, proposals: Sequence[ProposalRead]) -> None:
        self.review.cancel(proposals)

    def write(self) -> None:
        self.intake.write()
        self.control.write()
        self.review.write()
        append_many(self.session, self.drafts, clock=self.deployment.clock)
        self.drafts.clear()


def _prepare(session: Session, deployment: Deployment) -> str:
    """Record the configuration in force; its hash names the deployer."""
    return record_config(
        session,
        config=deployment.control,
        thresholds=deployment.thresholds,
        clock=deployment.clock,
        config_hash=deployment.config_hash,
    )


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
    config_hash = _prepare(session, deployment)
    return _walk(
        session,
        _Direct(session, deployment, config_hash),
        request,
        deployment=deployment,
        config_hash=config_hash,
        idempotency_key=idempotency_key,
        entered_by=entered_by,
        source_ref=source_ref,
    )


def _agents_for(session: Session, deployment: Deployment, service_codes: Sequence[str]) -> None:
    """Ask the registry once for a batch's services: which deployed agents serve
    each, and the gate's decision for each (agent, service), kept for the
    transaction as :func:`_walk` would keep them (the registry cannot change
    under the transaction)."""
    cache: dict[tuple[str, ...], Any] = session.info.setdefault(_CACHE, {})
    codes = [code for code in dict.fromkeys(service_codes) if ("agents", code) not in cache]
    if not codes:
        return
    now = deployment.clock.now()
    serving = agents_for_services(session, service_codes=codes)
    by_agent: dict[str, list[str]] = {}
    for code in codes:
        agent_ids = [agent_id for agent_id in serving[code] if agent_id in deployment.engines]
        cache[("agents", code)] = agent_ids
        for agent_id in agent_ids:
            if ("gate", agent_id, code) not in cache:
                by_agent.setdefault(agent_id, []).append(code)
    for agent_id, agent_codes in by_agent.items():
        decisions = gate_services(session, agent_id=agent_id, service_codes=agent_codes, now=now)
        for code, decision in decisions.items():
            cache[("gate", agent_id, code)] = decision


def _walk(
    session: Session,
    writes: _Writes,
    request: ServiceRequestIn | Mapping[str, Any],
    *,
    deployment: Deployment,
    config_hash: str,
    idempotency_key: str | None,
    entered_by: str | None,
    source_ref: str | None,
) -> CaseOutcome:
    clock = deployment.clock
    deployer = f"config:{config_hash}"
    submission = writes.submit(
        request,
        idempotency_key=idempotency_key,
        entered_by=entered_by,
        source_ref=source_ref,
        responsible=Responsible(deployer=deployer, operator=entered_by),
    )
    case = submission.case
    if submission.replayed:
        return CaseOutcome(
            case=case,
            citizen_token=submission.citizen_token,
            replayed=True,
            workflow=writes.workflow(case.id),
        )
    workflow = writes.open(case)
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
            writes.log(
                EntryDraft(
                    kind="control.gate_refused",
                    actor="system:pipeline",
                    case_id=case.id,
                    payload={"agent_id": agent_id, "reasons": refused},
                    responsible=Responsible(deployer=deployer),
                )
            )
            runs.append(AgentRun(agent_id, allowed=False, reasons=tuple(refused)))
            continue
        agent: AgentContext = _cached(
            session,
            ("context", agent_id, case.service_code),
            partial(_agent_context, session, decision, engine),
        )
        try:
            proposals: Sequence[Proposal] = engine.propose(view)
        except CogovError as exc:
            # An engine that cannot read this case leaves it to people; say so.
            writes.log(
                EntryDraft(
                    kind="triage.failed",
                    actor=f"agent:{agent_id}",
                    case_id=case.id,
                    payload={"agent_id": agent_id, "error": exc.message[:500]},
                    responsible=agent.responsible(config_hash),
                )
            )
            runs.append(AgentRun(agent_id, allowed=True, reasons=(exc.message,)))
            continue
        governed = writes.govern(case=case, agent=agent, proposals=proposals)
        if governed.cancelled:  # this agent merged the case: what waited on it is closed
            writes.cancel(governed.cancelled)
        items = [
            writes.enqueue(
                proposal,
                team=decision.operating_department or f"guardians of {agent_id}",
                guardian=decision.guardian or "",
                backup_guardian=decision.backup_guardian or "",
            )
            for proposal in governed.pending
        ]
        workflow = governed.workflow
        runs.append(AgentRun(agent_id, True, (), governed, tuple(items)))
    if workflow.state != "merged":  # a repeat is not an open case of its own
        for index in deployment.open_case_indexes:
            index.add(view)
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
    stops the batch, and nothing of it is stored.

    The same walk as :func:`process`, case by case in order (same checks, rows and
    ledger entries), but the registry is asked once per batch for all its services,
    and each batch's rows and ledger entries are written with one bulk insert per
    table at its end, in its one transaction."""
    report = BatchReport()
    pending: list[tuple[int, BatchItem, ServiceRequestIn]] = []

    def flush() -> None:
        if not pending:
            return
        coming = [_coming_view(request) for _, _, request in pending]
        for triage in deployment.batch_preparers:
            triage.prepare(coming)
        with unit_of_work(engine) as session:
            config_hash = _prepare(session, deployment)
            _agents_for(session, deployment, [request.service_code for _, _, request in pending])
            writes = _Batched(session, deployment, config_hash)
            outcomes = [
                (
                    index,
                    _walk(
                        session,
                        writes,
                        request,
                        deployment=deployment,
                        config_hash=config_hash,
                        idempotency_key=item.idempotency_key,
                        entered_by=item.entered_by,
                        source_ref=item.source_ref,
                    ),
                )
                for index, item, request in pending
            ]
            writes.write()
            for index, outcome in outcomes:
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

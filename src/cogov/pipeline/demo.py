"""`cogov demo` without the terminal: set up an agency from nothing, learn from
the first part of a real history, and replay the rest as live requests through
the whole governed path. Where a human is needed, the replay decides as the
agency really did (its real department and outcome) and counts those decisions
as such; nothing is invented."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cogov.control import (
    ControlConfig,
    InvalidDecision,
    ProposalNotPending,
    ProposalRead,
    TransitionRefused,
    Verdict,
)
from cogov.control.autonomy.service import current_level, get_autonomy, raise_level
from cogov.core.canonical import canonical_json, sha256_hex
from cogov.core.clock import Clock, parse_iso_utc
from cogov.core.types import Role
from cogov.db.session import unit_of_work
from cogov.identity.service import add_user
from cogov.intake.rules import address_key
from cogov.ledger import make_checkpoint, verify
from cogov.ledger.keys import LedgerKey
from cogov.pipeline.deployment import Deployment
from cogov.pipeline.history import HistoryRecord, SplitHistory
from cogov.pipeline.walk import BatchItem, CaseOutcome, process_batch
from cogov.registry import service as registry
from cogov.registry.filing_file import parse_filing
from cogov.registry.schemas import FilingRead
from cogov.review import decide
from cogov.triage.classifier import TrainedEngine, train
from cogov.triage.duplicates import DuplicateIndex, LearntDuplicates, ReplayedCase, learn_settings
from cogov.triage.protocol import ActionKind, CaseView

AGENT_ID = "demo-router"
DEDUP_ID = "demo-dedup"
ADMIN, APPROVER, GUARDIAN, BACKUP = "demo.admin", "demo.approver", "demo.guardian", "demo.backup"
TEAM = "Demo 311 service centre"

Report = Callable[[str, int, int], None]


def _quiet(_what: str, _done: int, _total: int) -> None:
    return None


def train_router(split: SplitHistory, *, progress: Report = _quiet) -> TrainedEngine:
    """The default engine, trained on the first part of the history: request text ->
    the department the agency really chose."""
    return train(
        [record.text for record in split.train],
        [record.department for record in split.train],
        case_ids=[record.ref for record in split.train],
        action=ActionKind.ROUTE,
        text_columns=(),  # the replayed description already joins the history's text columns
        label_column=split.columns.label,
        progress=progress,
    )


@dataclass(frozen=True, slots=True)
class DemoAgent:
    """What differs between the filings of agents like the demo's (see agent_filing)."""

    agent_id: str
    name: str
    purpose: str
    algorithm_type: str
    model_description: str
    version: str
    model_hash: str
    threshold: float
    training_description: str
    snapshot_hash: str
    # The register's plain-language texts: each agent's own (the public reads them).
    public_summary: str
    technical_detail: str


def router_spec(split: SplitHistory, engine: TrainedEngine) -> DemoAgent:
    return DemoAgent(
        agent_id=AGENT_ID,
        name="Demo request router",
        purpose="Suggests the department for each replayed request so it reaches the "
        "right team faster. It never rejects or closes a request.",
        algorithm_type="supervised-classification",
        model_description="cogov's default engine: calibrated linear model over word and "
        "character n-grams; explains each output with the words and similar past cases.",
        version=engine.identity.version,
        model_hash=engine.identity.model_hash,
        threshold=round(engine.threshold, 6),
        training_description=f"The first {len(split.train)} requests of the history (text, "
        f"and the department ({split.columns.label}) that handled them).",
        snapshot_hash=sha256_hex(
            canonical_json([[r.ref, r.text, r.department] for r in split.train])
        ),
        public_summary="An AI assistant suggests which team should handle each request. "
        "When it is unsure, a person decides; you can always appeal to a person.",
        technical_detail="Calibrated linear model over TF-IDF word and character n-grams, "
        "trained on the agency's own past requests.",
    )


def duplicates_spec(split: SplitHistory, finder: DuplicateIndex | LearntDuplicates) -> DemoAgent:
    """The repeat finder's filing: learnt (train_duplicates), its model description says
    what the cross-fitting measured and at which confidence it merges alone; an index
    given as it is (tests, hand-set settings) says so."""
    if isinstance(finder, LearntDuplicates):
        index = DuplicateIndex(finder.settings)
        how = (
            "its weights, a per-service bias and the confidence at which it merges alone "
            f"learnt from the agency's own duplicate closures. {finder.describe()}"
        )
    else:
        index, how = finder, "its weights and threshold as given, not learnt."
    return DemoAgent(
        agent_id=DEDUP_ID,
        name="Demo repeat finder",
        purpose="Flags a new request that repeats an open one (same place, same problem, "
        "close in time, similar words) so the agency answers it once.",
        algorithm_type="similarity-search",
        model_description="cogov's duplicate index: logistic score of place, service, time "
        f"and word similarity, explaining each match with its signals; {how}",
        version=index.identity.version,
        model_hash=index.identity.model_hash,
        threshold=round(index.threshold, 6),
        training_description=f"The first {len(split.train)} requests of the history and "
        "whether the agency closed each as a duplicate.",
        snapshot_hash=sha256_hex(canonical_json([[r.ref, r.was_duplicate] for r in split.train])),
        public_summary="An AI assistant spots a new request that repeats one already open "
        "(same place, same problem, around the same time) so the agency answers it once. "
        "When it is unsure, a person decides; you can always appeal to a person.",
        technical_detail="Logistic score of four signals (same place, same service, time "
        "apart, word similarity), weights learnt from the agency's own duplicate closures.",
    )


def agent_filing(agent: DemoAgent, services: Sequence[str], **overrides: Any) -> dict[str, Any]:
    """The filing of an agent like the demo's (a routing or repeat-finding helper whose
    questionnaire grades it II): what it does, who answers for it, its model and data.
    ``overrides`` replace top-level fields (another agency's guardians, contacts or
    texts); the filing's schema refuses a name it does not know."""
    document = {
        "agent_id": agent.agent_id,
        "name": agent.name,
        "purpose": agent.purpose,
        "services": list(services),
        "algorithm_type": agent.algorithm_type,
        "model": {
            "description": agent.model_description,
            "version": agent.version,
            "hash": agent.model_hash,
        },
        "training_data": {
            "description": agent.training_description,
            "snapshot_hash": agent.snapshot_hash,
        },
        "developer": {"organisation": "cogov demo", "contact": "demo@cogov.invalid"},
        "deployer": {"organisation": TEAM, "contact": "demo@cogov.invalid"},
        "operating_department": TEAM,
        "guardian": GUARDIAN,
        "backup_guardian": BACKUP,
        "security_responsible": "Demo security officer",
        "legal_basis": "Demonstration on public open data; no decision affects anyone.",
        "human_intervention": "Below its confidence threshold, where a rule says so, and "
        "for a sample of its cases, the guardian's team decides.",
        "appeal": "Every decision can be appealed to a person who took no part in it.",
        "languages": ["en", "zh"],
        "confidence_threshold": agent.threshold,
        "impact_assessment": {
            "answers": {
                "decision_affects": "routing",
                "autonomy": "acts_with_sampling",
                "reversibility": "easily_reversible",
                "duration": "days",
                "vulnerability": "includes_vulnerable",
                "data_sensitivity": "personal",
                "scale": "large",
                "explainability": "partly",
                "data_sources": "own_records",
                "scores_people_behaviour": "no",
                "infers_protected_traits": "no",
                "biometric_categorisation": "no",
                "manipulation": "no",
                "mitigations": [
                    "documented_human_review",
                    "appeal_to_human",
                    "bias_tested",
                    "group_monitoring",
                    "explanation_to_person",
                    "data_quality_checked",
                    "guardian_trained",
                    "publicly_registered",
                ],
            }
        },
        "security_assessment": {"status": "passed", "reference": "DEMO-SA-1", "date": "2026-01-01"},
        "ethics_review": {"status": "not_required"},
        "public_summary": agent.public_summary,
        "technical_detail": agent.technical_detail,
        "public_contact": "demo@cogov.invalid",
    }
    return {**document, **overrides}


def file_and_activate(
    session: Session,
    document: Mapping[str, Any],
    *,
    admin: str = ADMIN,
    approver: str = APPROVER,
    clock: Clock | None = None,
    reasons: tuple[str, str, str] = (
        "Agent filed for approval",
        "Security assessment passed; grade obligations accepted",
        "Guardians on duty",
    ),
) -> FilingRead:
    """File an agent, submit it, have a second administrator approve it (four eyes) and
    activate it: every step by a named user with a reason, each a ledger entry, as for
    a real agent. ``reasons`` are those of submit, approve and activate. Returns the
    filing as filed (its grade is the questionnaire's)."""
    filed = registry.file_agent(session, document=parse_filing(document), by=admin, clock=clock)
    steps = zip(
        (registry.submit, registry.approve, registry.activate),
        (admin, approver, admin),
        reasons,
        strict=True,
    )
    for step, by, reason in steps:
        step(session, agent_id=filed.agent_id, by=by, reason=reason, clock=clock)
    return filed


def set_up_agency(
    session: Session,
    *,
    split: SplitHistory,
    engine: TrainedEngine,
    clock: Clock,
    duplicates: DuplicateIndex | LearntDuplicates | None = None,
) -> str:
    """Users (administrators, the guardian and a backup), then each demo agent
    filed, submitted, approved by another administrator, activated, and raised by
    its guardian to its grade's autonomy ceiling: every step in the ledger, as for
    a real agent. Returns the grade the router's filing earned."""
    add_user(session, username=ADMIN, roles=[Role.ADMINISTRATOR], display_name="Demo admin",
             clock=clock)  # fmt: skip
    for username, roles, name in (
        (APPROVER, [Role.ADMINISTRATOR], "Demo approving administrator"),
        (GUARDIAN, [Role.REVIEWER], "Demo guardian"),
        (BACKUP, [Role.REVIEWER], "Demo backup guardian"),
    ):
        add_user(session, username=username, roles=roles, display_name=name, by=ADMIN,
                 clock=clock)  # fmt: skip
    specs = [router_spec(split, engine)]
    if duplicates is not None:
        specs.append(duplicates_spec(split, duplicates))
    grades = [_file_and_activate(session, split, spec, clock) for spec in specs]
    return grades[0]


def _file_and_activate(session: Session, split: SplitHistory, spec: DemoAgent, clock: Clock) -> str:
    reasons = (
        "Demo agent filed for approval",
        "Security assessment passed; grade obligations accepted",
        "Guardians on duty; demo replay starts",
    )
    document = agent_filing(spec, split.catalogue.codes)
    filed = file_and_activate(session, document, clock=clock, reasons=reasons)
    # A new agent starts at the initial autonomy level; only its guardian may raise
    # it (here to its grade's ceiling), and the controller lowers it again at once if
    # the human decisions that follow show it is wrong too often.
    agent = registry.get_agent(session, agent_id=spec.agent_id)
    ceiling = agent.latest.obligations.max_autonomy_level
    if current_level(session, spec.agent_id) < ceiling:
        raise_level(
            session,
            agent_id=spec.agent_id,
            to_level=ceiling,
            by=GUARDIAN,
            reason="Validated on the agency's own history; supervised start",
            clock=clock,
        )
    return str(filed.grade)


def history_view(record: HistoryRecord) -> CaseView:
    """A past request as an engine sees a live one (same place key as intake makes)."""
    return CaseView(
        case_id=record.ref,
        description=record.text,
        service_code=record.service_code,
        channel=record.channel.value,
        created_at=record.created.replace(tzinfo=UTC) if record.created else None,
        address_key=address_key(record.address, None, record.latitude, record.longitude),
        latitude=record.latitude,
        longitude=record.longitude,
    )


def train_duplicates(split: SplitHistory) -> LearntDuplicates:
    """The repeat finder's settings, learnt from which past requests the agency closed
    as duplicates: signal weights, per-service bias, and the confidence at which it may
    merge without a person, chosen from cross-fitted confidences as the router's
    threshold is (``DuplicateIndex(learnt.settings)`` is the engine; it starts with no
    open cases: only replayed ones, which exist in this database, can be merged into).
    Raises ValueError when the labels cannot teach it (see learn_settings)."""
    cases = [ReplayedCase(history_view(record)) for record in split.train]
    labels = {record.ref: record.was_duplicate for record in split.train}
    return learn_settings(cases, labels.get)


@dataclass
class ReplayTally:
    """What the replay did, case by case, and the human decisions it stood in for."""

    outcomes: list[CaseOutcome] = field(default_factory=list)
    records: list[HistoryRecord] = field(default_factory=list)
    human_decisions: Counter[str] = field(default_factory=Counter)
    left_for_people: int = 0
    # Proposals cancelled before their turn because an earlier decision merged the case.
    cancelled_by_merge: int = 0
    refused: list[tuple[int, str, str]] = field(default_factory=list)
    seconds: float = 0.0


def _agency_decision(
    proposal: ProposalRead, record: HistoryRecord
) -> tuple[str, str | None, str | None]:
    """(decision, reason code, new value) as the agency really decided."""
    if proposal.action == "route":
        if proposal.value == record.department:
            return "approve", "confirmed", None
        return "edit", "wrong_department", record.department
    if proposal.action == "categorise":
        if proposal.value == record.service_name:
            return "approve", "confirmed", None
        return "edit", "wrong_category", record.service_name
    if proposal.action == "mark_duplicate":
        return (
            ("approve", "confirmed", None)
            if record.was_duplicate
            else ("reject", "not_duplicate", None)
        )
    raise LookupError(proposal.action)


def decide_as_the_agency(
    session: Session,
    *,
    outcome: CaseOutcome,
    record: HistoryRecord,
    config: ControlConfig,
    clock: Clock,
    tally: ReplayTally,
) -> None:
    """Every proposal of this case that waits for a human is decided by the guardian
    as the agency really decided it (recorded like any human decision)."""
    for run in outcome.runs:
        if run.governed is None:
            continue
        for proposal, item_id in zip(run.governed.pending, run.review_item_ids, strict=True):
            try:
                decision, code, value = _agency_decision(proposal, record)
            except LookupError:
                tally.left_for_people += 1  # the history holds no such decision to replay
                continue
            try:
                decide(
                    session,
                    item_id=item_id,
                    reviewer=GUARDIAN,
                    decision=decision,
                    config=config,
                    reason_code=code,
                    new_value=value,
                    clock=clock,
                )
            except ProposalNotPending as exc:
                if exc.state != "cancelled":
                    raise
                # An earlier decision on this case merged it as a repeat, which cancelled
                # its other pending proposals (each with a ledger entry): nothing to decide.
                tally.cancelled_by_merge += 1
                continue
            except (TransitionRefused, InvalidDecision):
                # The case moved on meanwhile (e.g. merged as a repeat), so what the agency
                # did cannot take effect here; the history says nothing more, so the item
                # is left for a person (not counted against the agent).
                tally.left_for_people += 1
                continue
            tally.human_decisions[decision] += 1


def replay(
    db: Engine,
    split: SplitHistory,
    deployment: Deployment,
    *,
    batch_size: int = 250,
    progress: Report = _quiet,
) -> ReplayTally:
    """Replay the history's second part as live requests, batch by batch."""
    tally = ReplayTally()
    started = time.perf_counter()
    total = len(split.replay)
    for start in range(0, total, batch_size):
        chunk = split.replay[start : start + batch_size]
        items = [BatchItem(request=r.request(), source_ref=r.ref) for r in chunk]
        report = process_batch(db, items, deployment=deployment, batch_size=batch_size)
        tally.refused += [(start + i, f, r) for i, f, r in report.refused]
        refused_at = {i for i, _, _ in report.refused}
        kept = [record for i, record in enumerate(chunk) if i not in refused_at]
        with unit_of_work(db) as session:
            for outcome, record in zip(report.outcomes, kept, strict=True):
                decide_as_the_agency(
                    session,
                    outcome=outcome,
                    record=record,
                    config=deployment.control,
                    clock=deployment.clock,
                    tally=tally,
                )
        tally.outcomes += report.outcomes
        tally.records += kept
        progress("replay", min(start + batch_size, total), total)
    tally.seconds = time.perf_counter() - started
    return tally


@dataclass(frozen=True)
class Measures:
    """Both logics side by side: efficiency and co-governance."""

    cases: int
    without_human: int
    auto_routed: int
    auto_routed_correct: int
    auto_merged: int
    auto_merged_correct: int
    route_ms_median: float | None
    route_ms_p90: float | None
    cases_per_second: float
    human_decisions: dict[str, int]
    verdicts: dict[str, int]
    decided_by: dict[str, int]
    proposals: int
    explained: int
    left_for_people: int
    cancelled_by_merge: int
    # Per agent: (level in force now, the controller's lowerings, the last reason).
    autonomy: dict[str, tuple[int, int, str | None]]
    ledger_entries: int
    ledger_ok: bool
    ledger_problem: str | None
    checkpoint_size: int | None

    @property
    def overrides(self) -> int:
        return self.human_decisions.get("edit", 0) + self.human_decisions.get("reject", 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "efficiency": {
                "cases": self.cases,
                "handled_without_a_human": self.without_human,
                "share_without_a_human": _share(self.without_human, self.cases),
                "auto_routed": self.auto_routed,
                "auto_routed_matching_the_agency": _share(
                    self.auto_routed_correct, self.auto_routed
                ),
                "merged_as_repeats_by_an_agent": self.auto_merged,
                "merges_the_agency_also_closed_as_duplicates": _share(
                    self.auto_merged_correct, self.auto_merged
                ),
                "time_to_route_ms_median": self.route_ms_median,
                "time_to_route_ms_p90": self.route_ms_p90,
                "cases_per_second": round(self.cases_per_second, 1),
            },
            "co_governance": {
                "human_decisions": dict(self.human_decisions),
                "human_decisions_replayed_from_the_agency_record": True,
                "overrides": self.overrides,
                "override_rate": _share(self.overrides, sum(self.human_decisions.values())),
                "verdicts": self.verdicts,
                "decided_by": self.decided_by,
                "explanation_coverage": _share(self.explained, self.proposals),
                "left_for_people": self.left_for_people,
                "cancelled_when_the_case_was_merged": self.cancelled_by_merge,
                "autonomy": {
                    agent: {"level_now": level, "lowered": lowered, "last_reason": reason}
                    for agent, (level, lowered, reason) in self.autonomy.items()
                },
                "ledger_entries": self.ledger_entries,
                "ledger_verified": self.ledger_ok,
                "ledger_problem": self.ledger_problem,
                "signed_checkpoint_size": self.checkpoint_size,
            },
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percentile(values: Sequence[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)


def measure(
    tally: ReplayTally,
    *,
    db: Engine,
    key: LedgerKey,
    clock: Clock,
    agent_ids: Sequence[str] = (AGENT_ID,),
) -> Measures:
    """Count what happened, sign a checkpoint, and verify the whole ledger."""
    route_ms: list[float] = []
    auto_routed = auto_correct = auto_merged = merged_correct = without_human = explained = 0
    verdicts: Counter[str] = Counter()
    decided_by: Counter[str] = Counter()
    proposals = 0
    for outcome, record in zip(tally.outcomes, tally.records, strict=True):
        made = outcome.proposals
        proposals += len(made)
        for proposal in made:
            verdicts[proposal.verdict.value] += 1
            if proposal.verdict is not Verdict.APPLY:
                decided_by[proposal.verdict_by] += 1
            if proposal.explanation.get("summary") and proposal.explanation.get("evidence"):
                explained += 1
        if made and not outcome.needs_human:
            without_human += 1
        if any(p.action == "mark_duplicate" and p.verdict is Verdict.APPLY for p in made):
            auto_merged += 1
            merged_correct += int(record.was_duplicate)
        routed = [p for p in made if p.action == "route" and p.verdict is Verdict.APPLY]
        if routed and outcome.workflow.routed_at:
            auto_routed += 1
            auto_correct += int(routed[0].value == record.department)
            received = parse_iso_utc(outcome.case.received_at)
            done: datetime = parse_iso_utc(outcome.workflow.routed_at)
            route_ms.append((done - received).total_seconds() * 1000)
    autonomy: dict[str, tuple[int, int, str | None]] = {}
    with unit_of_work(db) as session:
        for agent_id in agent_ids:
            state = get_autonomy(session, agent_id=agent_id)
            lowered = [c for c in state.history if c.direction == "lowered"]
            autonomy[agent_id] = (
                state.effective,
                len(lowered),
                lowered[0].reason if lowered else None,
            )
        checkpoint = make_checkpoint(session, key=key, clock=clock)
    with unit_of_work(db) as session:
        report = verify(session, public_key=key.public_key)
    cases = len(tally.outcomes)
    return Measures(
        cases=cases,
        without_human=without_human,
        auto_routed=auto_routed,
        auto_routed_correct=auto_correct,
        auto_merged=auto_merged,
        auto_merged_correct=merged_correct,
        route_ms_median=round(statistics.median(route_ms), 2) if route_ms else None,
        route_ms_p90=_percentile(route_ms, 0.9),
        cases_per_second=cases / tally.seconds if tally.seconds else 0.0,
        human_decisions=dict(tally.human_decisions),
        verdicts=dict(verdicts),
        decided_by=dict(decided_by.most_common(6)),
        proposals=proposals,
        explained=explained,
        left_for_people=tally.left_for_people,
        cancelled_by_merge=tally.cancelled_by_merge,
        autonomy=autonomy,
        ledger_entries=report.entries,
        ledger_ok=report.ok,
        ledger_problem=report.problem.message if report.problem else None,
        checkpoint_size=checkpoint.size,
    )

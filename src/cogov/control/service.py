"""Use cases of control: open a case's workflow, move it through its standard
process, and govern an agent's proposals (record, check, route, apply). Every
state change is a ledger entry in the caller's transaction. Never commits."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

from sqlalchemy.orm import Session

from cogov.control import repository
from cogov.control.config import ControlConfig
from cogov.control.errors import (
    InvalidDecision,
    MergeRefused,
    ProposalNotFound,
    ProposalNotPending,
    TransitionRefused,
    WorkflowNotFound,
)
from cogov.control.models import CaseWorkflow, ProposalRecord
from cogov.control.models import ControlConfig as ControlConfigRow
from cogov.control.process import ActorKind, Process
from cogov.control.rules import CheckCode, Refusal, RoutingInput, Verdict, decide, sample_draw
from cogov.control.schemas import (
    PRIORITIES,
    Actor,
    AgentContext,
    GovernedCase,
    Outcome,
    ProposalRead,
    ProposalState,
    WorkflowRead,
    developer_ref,
)
from cogov.core.canonical import canonical_json, canonical_text, sha256_hex
from cogov.core.clock import Clock, SystemClock, iso_utc
from cogov.core.ids import new_id
from cogov.core.text import control_character_problem
from cogov.db.batches import new_row
from cogov.intake import CaseRead
from cogov.ledger import EntryDraft, Responsible, append, append_many
from cogov.triage.protocol import Proposal

_SYSTEM_CLOCK = SystemClock()


class _Ledger:
    """Where control's entries go: straight into the ledger, or collected and
    written with one bulk insert (govern), in the same transaction either way."""

    def __init__(
        self, session: Session, clock: Clock | None, *, drafts: list[EntryDraft] | None = None
    ) -> None:
        self.session = session
        self.clock = clock
        # None: each entry is appended at once; a list: entries are collected there.
        self.drafts = drafts

    def add(
        self,
        *,
        kind: str,
        actor: str,
        case_id: str,
        payload: dict[str, Any],
        responsible: Responsible | None,
    ) -> None:
        if self.drafts is None:
            append(
                self.session,
                kind=kind,
                actor=actor,
                case_id=case_id,
                payload=payload,
                responsible=responsible,
                clock=self.clock,
            )
        else:
            self.drafts.append(EntryDraft(kind, actor, payload, case_id, responsible))

    def write(self) -> None:
        if self.drafts:
            append_many(self.session, self.drafts, clock=self.clock)
            self.drafts = []


_KNOWN_CONFIGS = "cogov.control.known_configs"
# The state an action moves a case to when it takes effect (if any).
IMPLIED_STATE = {"route": "assigned", "mark_duplicate": "merged"}
# A case that is merely received is first marked triaged on the way to these.
VIA_STATE = "triaged"
# A case merged into another: what still waits for a human on it is cancelled.
MERGED_STATE = IMPLIED_STATE["mark_duplicate"]
# Where a case waits for the people of the department it was routed to.
WORK_STATES = ("assigned", "in_progress")
RESOLVED_STATE = "resolved"
RESOLUTION_NOTE_MAX = 4_000


# --- configuration ---------------------------------------------------------------


def record_config(
    session: Session,
    *,
    config: ControlConfig,
    thresholds: dict[str, float],
    clock: Clock | None,
    config_hash: str | None = None,
) -> str:
    """Store the configuration in force (once per hash) and return its hash
    (``config_hash``, when the caller computed it already, saves hashing again)."""
    config_hash = config_hash or config.hash(thresholds)
    known: set[str] = session.info.setdefault(_KNOWN_CONFIGS, set())
    if config_hash in known:
        return config_hash
    if not repository.config_exists(session, config_hash):
        body = canonical_json(config.body(thresholds))
        now = iso_utc((clock or _SYSTEM_CLOCK).now())
        repository.add(
            session, ControlConfigRow(config_hash=config_hash, body=body, first_used_at=now)
        )
        session.flush()
    known.add(config_hash)
    return config_hash


def config_body(session: Session, *, config_hash: str) -> dict[str, Any] | None:
    """The configuration a hash names (rules, processes, thresholds), if recorded."""
    row = repository.get_config(session, config_hash)
    return json.loads(row.body) if row is not None else None


# --- workflow --------------------------------------------------------------------


def open_workflow(
    session: Session, *, case: CaseRead, config: ControlConfig, clock: Clock | None = None
) -> WorkflowRead:
    """Start a new case in the initial state of its service's process."""
    row = _new_workflow(case, config, clock)
    repository.add(session, row)
    session.flush()
    return WorkflowRead.of(row)


def _new_workflow(
    case: CaseRead, config: ControlConfig, clock: Clock | None, draft: bool = False
) -> CaseWorkflow:
    process = config.processes.for_service(case.service_code)
    return new_row(
        CaseWorkflow,
        draft,
        case_id=case.id,
        process_id=process.id,
        state=process.initial,
        reply_ai_drafted=False,
        updated_at=iso_utc((clock or _SYSTEM_CLOCK).now()),
        version=1,
    )


def get_workflow(session: Session, *, case_id: str) -> WorkflowRead:
    row = repository.get_workflow(session, case_id)
    if row is None:
        raise WorkflowNotFound(case_id)
    return WorkflowRead.of(row)


def _workflow_row(session: Session, case_id: str) -> CaseWorkflow:
    row = repository.get_workflow(session, case_id, for_update=True)
    if row is None:
        raise WorkflowNotFound(case_id)
    return row


def transition(
    session: Session,
    *,
    case_id: str,
    to_state: str,
    actor: Actor,
    config: ControlConfig,
    reason: str | None = None,
    responsible: Responsible | None = None,
    clock: Clock | None = None,
) -> WorkflowRead:
    """Move a case one step in its process. Refuses (TransitionRefused) any step
    the process does not have, or one this kind of actor may not take."""
    row = _workflow_row(session, case_id)
    process = config.processes.get(row.process_id)
    was_merged = row.state == MERGED_STATE
    ledger = _Ledger(session, clock)
    _step(ledger, row, process, to_state, actor, reason, responsible, clock)
    if row.state == MERGED_STATE and not was_merged:
        # Merged by hand, not through a mark_duplicate: what waits on it is cancelled
        # all the same (cogov.review.cancel_items then closes their review items).
        pending = repository.pending_proposals_for_case(session, case_id)
        _cancel_for_merge(ledger, pending, row, actor, clock)
        session.flush()
    return WorkflowRead.of(row)


def _step(
    ledger: _Ledger,
    row: CaseWorkflow,
    process: Process,
    to_state: str,
    actor: Actor,
    reason: str | None,
    responsible: Responsible | None,
    clock: Clock | None,
    trigger: str | None = None,
    details: dict[str, Any] | None = None,
    now: str | None = None,  # the caller's moment (one per govern), else the clock's
) -> None:
    refusal = process.refusal(row.state, to_state, actor.kind)
    if refusal is not None:
        raise TransitionRefused(row.case_id, row.state, to_state, refusal)
    from_state = row.state
    now = now or iso_utc((clock or _SYSTEM_CLOCK).now())
    row.state = to_state
    row.updated_at = now
    row.version += 1
    payload: dict[str, Any] = {
        "from": from_state,
        "to": to_state,
        "process_id": process.id,
        "actor_kind": actor.kind.value,
    }
    if reason:
        payload["reason"] = reason
    if trigger:
        payload["proposal_id"] = trigger
    payload.update(details or {})
    ledger.add(
        kind="case.transitioned",
        actor=actor.ledger_actor,
        case_id=row.case_id,
        payload=payload,
        responsible=responsible,
    )


def work_list(
    session: Session,
    *,
    department: str | None = None,
    departments: Sequence[str] | None = None,
    states: Sequence[str] = WORK_STATES,
    limit: int = 200,
) -> list[WorkflowRead]:
    """Cases waiting for the people of a department (assigned to it, or being worked
    on), of every department when ``department`` is None; the longest untouched first.
    ``departments`` narrows to any of several (a field team's; none when empty)."""
    rows = repository.workflows_in_states(
        session, states, department=department, departments=departments, limit=limit
    )
    return [WorkflowRead.of(row) for row in rows]


def _person_words(field: str, text: str | None, *, required: bool) -> str | None:
    """A person's own words for the record (a resolution note, a merge reason): no
    control characters, at most RESOLUTION_NOTE_MAX characters once trimmed; None when
    empty and not ``required``. InvalidDecision names ``field`` otherwise."""
    if problem := control_character_problem(text or ""):
        raise InvalidDecision(field, problem)
    words = (text or "").strip()
    if required and not words:
        raise InvalidDecision(field, f"must be 1-{RESOLUTION_NOTE_MAX} characters")
    if len(words) > RESOLUTION_NOTE_MAX:
        limit = f"1-{RESOLUTION_NOTE_MAX}" if required else f"at most {RESOLUTION_NOTE_MAX}"
        raise InvalidDecision(field, f"must be {limit} characters")
    return words or None


def resolve_case(
    session: Session,
    *,
    case_id: str,
    by: str,
    note: str,
    config: ControlConfig,
    clock: Clock | None = None,
) -> WorkflowRead:
    """A person resolves a case: its process's step to 'resolved', taken as a human
    (TransitionRefused where the process has no such step from where the case
    stands), and ``note``, what was done in words the citizen reads, becomes the
    case's reply (not AI-drafted). Ledger: case.transitioned, naming the user, with
    the note's SHA-256 and length (never its text: it may hold personal data)."""
    words = _person_words("note", note, required=True) or ""
    username = (by or "").strip()
    if not username:
        raise InvalidDecision("by", "names the person who resolves the case")
    row = _workflow_row(session, case_id)
    process = config.processes.get(row.process_id)
    details = {"reply_sha256": sha256_hex(words), "reply_length": len(words)}
    _step(_Ledger(session, clock), row, process, RESOLVED_STATE, Actor.human(username),
          "resolved with a note to the citizen", Responsible(operator=f"user:{username}"),
          clock, details=details)  # fmt: skip
    row.reply = words
    row.reply_ai_drafted = False
    session.flush()
    return WorkflowRead.of(row)


def merge_case(
    session: Session,
    *,
    case_id: str,
    into: str,
    by: str,
    reason: str | None,
    config: ControlConfig,
    clock: Clock | None = None,
) -> WorkflowRead:
    """A person merges a case into another that it repeats (no agent proposed it, or
    one proposed something else): the case takes its process's way to 'merged', as a
    human, through 'triaged' where the process needs that, with ``duplicate_of`` set.
    Refuses, naming the field: no one named in ``by`` and a ``reason`` with control
    characters or over RESOLUTION_NOTE_MAX characters (InvalidDecision); an empty
    ``into``, the case itself, an unknown case, a case that is itself merged (merge
    into the one it repeats), and a case being merged that has repeats merged into it
    (merge the other way) (MergeRefused, whose ``problem`` says which: a repeat always
    points at a case that is not merged); TransitionRefused where the process has no
    way to 'merged' for a person from where the case stands. Ledger:
    case.transitioned, naming the user, with ``duplicate_of``; then proposal.cancelled
    for each proposal that still waited for a human (``cogov.review.merge_case`` also
    closes their review items)."""
    username = (by or "").strip()
    if not username:
        raise InvalidDecision("by", "names the person who merges the case")
    target_id = (into or "").strip()
    if not target_id:
        raise MergeRefused("empty", target_id)
    if target_id == case_id:
        raise MergeRefused("itself", target_id)
    words = _person_words("reason", reason, required=False)
    # Both rows locked, in one order: two merges that cross (A into B, B into A; or C
    # into A while A goes into B) wait for each other and the second then sees the
    # first, instead of both passing the checks below and making a loop or a chain.
    rows = repository.lock_workflows(session, [case_id, target_id])
    row = rows.get(case_id)
    if row is None:
        raise WorkflowNotFound(case_id)
    target = rows.get(target_id)
    if target is None:
        raise MergeRefused("unknown", target_id)
    if target.state == MERGED_STATE:
        raise MergeRefused("merged", target_id, target.duplicate_of)
    if repeat := repository.first_repeat_of(session, case_id):
        raise MergeRefused("has_repeats", target_id, repeat)
    process = config.processes.get(row.process_id)
    path = _path_to(process, row.state, MERGED_STATE, ActorKind.HUMAN)
    if not path:  # None: no way; []: already there
        raise TransitionRefused(
            case_id,
            row.state,
            MERGED_STATE,
            "already merged"
            if row.state == MERGED_STATE
            else "the process has no way for a person to merge a case from here",
        )
    actor = Actor.human(username)
    responsible = Responsible(operator=f"user:{username}")
    ledger = _Ledger(session, clock)
    now = iso_utc((clock or _SYSTEM_CLOCK).now())
    row.duplicate_of = target_id
    for state in path[:-1]:  # through 'triaged', where the process needs that
        _step(ledger, row, process, state, actor, words, responsible, clock, now=now)
    _step(ledger, row, process, MERGED_STATE, actor, words, responsible, clock,
          details={"duplicate_of": target_id}, now=now)  # fmt: skip
    pending = repository.pending_proposals_for_case(session, case_id)
    _cancel_for_merge(ledger, pending, row, actor, clock)
    session.flush()
    return WorkflowRead.of(row)


def _original_of(session: Session, case_id: str) -> str:
    """The case ``case_id`` repeats, following merges (itself when not merged). A
    merge never targets a merged case, but a ledger from before that rule may hold a
    chain: followed to its end, never round a loop."""
    seen = {case_id}
    while (row := repository.get_workflow(session, case_id)) is not None and (
        row.state == MERGED_STATE and row.duplicate_of and row.duplicate_of not in seen
    ):
        case_id = row.duplicate_of
        seen.add(case_id)
    return case_id


def _path_to(process: Process, state: str, target: str, kind: ActorKind) -> list[str] | None:
    """The steps that take a case from ``state`` to ``target`` for this actor: none
    needed, one step, or through 'triaged'; None when the process has no way."""
    if state == target:
        return []
    if process.refusal(state, target, kind) is None:
        return [target]
    if (
        state != VIA_STATE
        and process.refusal(state, VIA_STATE, kind) is None
        and process.refusal(VIA_STATE, target, kind) is None
    ):
        return [VIA_STATE, target]
    return None


def process_refusal(process: Process, state: str, action: str, kind: ActorKind) -> Refusal | None:
    """Why the process does not let this actor's ``action`` take effect now, or None."""
    if state not in process.action_states(action):
        return Refusal(
            CheckCode.PROCESS_NO_ACTION,
            f"process {process.id!r} has no {action} in state {state!r}",
            {"process": process.id, "action": action, "state": state},
        )
    target = IMPLIED_STATE.get(action)
    if target is not None and _path_to(process, state, target, kind) is None:
        return Refusal(
            CheckCode.PROCESS_NO_PATH,
            f"process {process.id!r} does not let {kind.value} move {state!r} to {target!r}",
            {"process": process.id, "actor": kind.value, "state": state, "target": target},
        )
    return None


def _value_problem(
    workflow_of: Callable[[str], CaseWorkflow | None], case_id: str, action: str, value: str
) -> Refusal | None:
    if action == "prioritise" and value not in PRIORITIES:
        allowed = ", ".join(PRIORITIES)
        return Refusal(
            CheckCode.PRIORITY_UNKNOWN,
            f"priority {value!r} is not one of {allowed}",
            {"value": value, "allowed": allowed},
        )
    if action == "mark_duplicate":
        if value == case_id:
            return Refusal(CheckCode.DUPLICATE_OF_ITSELF, "a case cannot duplicate itself")
        target = workflow_of(value)
        if target is None:
            return Refusal(
                CheckCode.DUPLICATE_UNKNOWN, f"no case {value!r} to merge into", {"value": value}
            )
        if target.state == MERGED_STATE:
            # A repeat points at a case that is not merged, as a reviewer's merge does.
            root = target.duplicate_of or ""
            return Refusal(
                CheckCode.DUPLICATE_OF_MERGED,
                f"case {value} is itself merged into case {root}: that is the one it repeats",
                {"value": value, "root": root},
            )
    if not value.strip():
        return Refusal(CheckCode.VALUE_EMPTY, "the value is empty")
    return None


# --- governing proposals -------------------------------------------------------------


def _evidence_json(proposal: Proposal) -> list[dict[str, Any]]:
    """The explanation's evidence as plain values, built once per proposal for its
    stored explanation and its negative-list check alike. (``str`` of a StrEnum
    member is its value, without the slower ``.value`` descriptor.)"""
    # ``data`` (the label's facts as plain values, for pages in other languages) only
    # where the engine gave it, so a label-only engine's evidence reads as before.
    return [
        {"kind": str(e.kind), "label": e.label, "weight": float(e.weight), "data": dict(e.data)}
        if e.data
        else {"kind": str(e.kind), "label": e.label, "weight": float(e.weight)}
        for e in proposal.explanation.evidence
    ]


def _explanation_json(proposal: Proposal, evidence: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "summary": proposal.explanation.summary,
        "evidence": evidence,
        "alternatives": [[value, float(conf)] for value, conf in proposal.alternatives],
    }


@functools.lru_cache(maxsize=256)
def _responsible(agent: AgentContext, config_hash: str, operator: str | None) -> Responsible:
    # One object per agent, configuration and operator: a batch names them many
    # times over, and the ledger caches the text of each one it sees.
    return agent.responsible(config_hash, operator=operator)


def _ledger_value(action: str, value: str) -> dict[str, Any]:
    # A drafted reply may quote the citizen: the ledger keeps its hash, not its text.
    if action == "draft_reply":
        return {"value_sha256": sha256_hex(value), "value_length": len(value)}
    return {"value": value}


def _rule_case(case: CaseRead, state: str) -> dict[str, Any]:
    return {
        "service_code": case.service_code,
        "state": state,
        "channel": case.channel.value,
        "language": case.language or "",
        "assisted": case.assisted,
        "description": case.description,
        "group": dict(case.group_attributes),
        "group_names": sorted(case.group_attributes),
    }


def _rule_proposal(
    proposal: Proposal, threshold: float, evidence: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "action": str(proposal.action),
        "value": proposal.value,
        "confidence": float(proposal.confidence),
        "threshold": float(threshold),
        "ai_drafted": proposal.ai_drafted,
        "summary": proposal.explanation.summary,
        "evidence": evidence,
        "evidence_labels": [e["label"] for e in evidence],
    }


def govern(
    session: Session,
    *,
    case: CaseRead,
    agent: AgentContext,
    proposals: Sequence[Proposal],
    config: ControlConfig,
    config_hash: str,
    clock: Clock | None = None,
) -> GovernedCase:
    """Record one agent's proposals for a case, check each against the process, the
    negative list and the routing policy, and apply those within the agent's
    limits, in the policy's order. The rest wait for a human (``pending``): the
    caller queues them for review. Ledger: proposal.made, control.verdict,
    proposal.applied and case.transitioned, each naming who answers for it."""
    row = _workflow_row(session, case.id)
    was_merged = row.state == MERGED_STATE
    ledger = _Ledger(session, clock, drafts=[])
    records = _govern_rows(
        ledger, row, case, agent, proposals, config, config_hash, clock, _stored_workflow(session)
    )
    earlier: list[ProposalRecord] = []
    if row.state == MERGED_STATE and not was_merged:
        earlier = repository.pending_proposals_for_case(session, case.id)
        _cancel_for_merge(ledger, earlier, row, Actor.agent(agent.agent_id), clock)
    for record in records:
        repository.add(session, record)
    session.flush()
    ledger.write()
    return GovernedCase(
        workflow=WorkflowRead.of(row),
        proposals=tuple(ProposalRead.of(record) for record in records),
        cancelled=tuple(ProposalRead.of(record) for record in earlier),
    )


def _cancel_for_merge(
    ledger: _Ledger,
    records: Sequence[ProposalRecord],
    row: CaseWorkflow,
    actor: Actor,
    clock: Clock | None,
) -> list[ProposalRecord]:
    """Cancel the proposals among ``records`` that still wait for a human on a case
    now merged into another: none of them will take effect, and none is left for a
    reviewer. Each gets a ``proposal.cancelled`` entry saying why, naming who merged
    the case and who answers for the proposal."""
    now = iso_utc((clock or _SYSTEM_CLOCK).now())
    into = row.duplicate_of
    reason = f"the case was merged into case {into}" if into else "the case was merged"
    cancelled = []
    for record in records:
        if record.state != ProposalState.PENDING_REVIEW.value or record.case_id != row.case_id:
            continue
        record.state = ProposalState.CANCELLED.value
        record.decided_at = now
        ledger.add(
            kind="proposal.cancelled",
            actor=actor.ledger_actor,
            case_id=row.case_id,
            payload={
                "proposal_id": record.id,
                "agent_id": record.agent_id,
                "action": record.action,
                "reason": reason,
                "merged_into": into,
                "by": actor.kind.value,
            },
            responsible=Responsible(
                developer=developer_ref(record.agent_id, record.agent_version, record.model_hash),
                deployer=f"config:{record.config_hash}",
                operator=actor.ledger_actor if actor.kind is ActorKind.HUMAN else None,
            ),
        )
        cancelled.append(record)
    return cancelled


def _stored_workflow(session: Session) -> Callable[[str], CaseWorkflow | None]:
    return lambda case_id: repository.get_workflow(session, case_id)


class GovernBatch:
    """Many new cases opened and governed in one transaction, their workflows and
    proposals written at the end with one bulk insert per table: the batch form of
    :func:`open_workflow` then :func:`govern`, case by case in order, with the same
    checks, rows and ledger entries. The entries go to ``drafts`` (the caller's list,
    in order, for one :func:`cogov.ledger.append_many` in the same transaction after
    :meth:`write`). A case of the batch is known to later cases (e.g. as a duplicate
    target) before it is written."""

    def __init__(
        self,
        session: Session,
        *,
        config: ControlConfig,
        config_hash: str,
        drafts: list[EntryDraft],
        clock: Clock | None = None,
    ) -> None:
        self._session = session
        self._config = config
        self._config_hash = config_hash
        self._ledger = _Ledger(session, clock, drafts=drafts)
        self._clock = clock
        self._workflows: dict[str, CaseWorkflow] = {}
        self._proposals: list[ProposalRecord] = []
        self._stored = _stored_workflow(session)

    def _case_workflow(self, case_id: str) -> CaseWorkflow | None:
        return self._workflows.get(case_id) or self._stored(case_id)

    def open(self, case: CaseRead) -> WorkflowRead:
        """Start a new case in the initial state of its service's process."""
        row = _new_workflow(case, self._config, self._clock, draft=True)
        self._workflows[case.id] = row
        return WorkflowRead.of(row)

    def workflow(self, case_id: str) -> WorkflowRead:
        """Where a case stands: one of this batch, or one stored before."""
        row = self._workflows.get(case_id)
        return (
            WorkflowRead.of(row)
            if row is not None
            else get_workflow(self._session, case_id=case_id)
        )

    def govern(
        self, *, case: CaseRead, agent: AgentContext, proposals: Sequence[Proposal]
    ) -> GovernedCase:
        """:func:`govern` for a case opened in this batch."""
        row = self._workflows[case.id]
        was_merged = row.state == MERGED_STATE
        records = _govern_rows(
            self._ledger, row, case, agent, proposals, self._config, self._config_hash,
            self._clock, self._case_workflow, draft=True,
        )  # fmt: skip
        earlier: list[ProposalRecord] = []
        if row.state == MERGED_STATE and not was_merged:
            # The case is new in this batch: what waits on it was made in this batch.
            earlier = _cancel_for_merge(
                self._ledger, self._proposals, row, Actor.agent(agent.agent_id), self._clock
            )
        self._proposals.extend(records)
        return GovernedCase(
            workflow=WorkflowRead.of(row),
            proposals=tuple(ProposalRead.of(record) for record in records),
            cancelled=tuple(ProposalRead.of(record) for record in earlier),
        )

    def write(self) -> None:
        """Insert every workflow (as it stands now) and proposal of the batch."""
        repository.insert_workflows(self._session, list(self._workflows.values()))
        repository.insert_proposals(self._session, self._proposals)
        self._workflows, self._proposals = {}, []


def _govern_rows(
    ledger: _Ledger,
    row: CaseWorkflow,
    case: CaseRead,
    agent: AgentContext,
    proposals: Sequence[Proposal],
    config: ControlConfig,
    config_hash: str,
    clock: Clock | None,
    workflow_of: Callable[[str], CaseWorkflow | None],
    draft: bool = False,
) -> list[ProposalRecord]:
    """Govern's work on the case's workflow row: the proposal rows (not yet in the
    session), the row's changes, and the ledger entries, in order."""
    process = config.processes.get(row.process_id)
    responsible = _responsible(agent, config_hash, case.entered_by)
    actor = Actor.agent(agent.agent_id)
    now = iso_utc((clock or _SYSTEM_CLOCK).now())
    ordered = sorted(proposals, key=lambda p: config.routing.rank(p.action.value))

    records: list[tuple[Proposal, ProposalRecord, list[dict[str, Any]]]] = []
    for proposal in ordered:
        evidence = _evidence_json(proposal)
        explanation = _explanation_json(proposal, evidence)
        record = new_row(
            ProposalRecord,
            draft,
            id=new_id(),
            case_id=case.id,
            agent_id=agent.agent_id,
            agent_version=agent.version,
            engine_ref=agent.engine_ref,
            model_hash=agent.model_hash,
            action=proposal.action.value,
            value=proposal.value,
            confidence=float(proposal.confidence),
            threshold=config.routing.threshold(proposal.action.value, agent.threshold),
            explanation=canonical_text(explanation),
            ai_drafted=proposal.ai_drafted or proposal.action.value == "draft_reply",
            verdict=Verdict.REVIEW.value,  # until decided below
            verdict_by="pending",
            reasons="[]",
            state=ProposalState.PENDING_REVIEW.value,
            config_hash=config_hash,
            created_at=now,
        )
        records.append((proposal, record, evidence))
        ledger.add(
            kind="proposal.made",
            actor=actor.ledger_actor,
            case_id=case.id,
            payload={
                "proposal_id": record.id,
                "agent_id": agent.agent_id,
                "agent_version": agent.version,
                "engine": agent.engine_ref,
                "model_hash": agent.model_hash,
                "action": record.action,
                **_ledger_value(record.action, record.value),
                "confidence": record.confidence,
                "explanation_sha256": sha256_hex(record.explanation),
                "evidence_count": len(explanation["evidence"]),
                "ai_drafted": record.ai_drafted,
            },
            responsible=responsible,
        )

    # The agent has looked at the case: received -> triaged, where the process lets it.
    if records and process.refusal(row.state, VIA_STATE, ActorKind.AGENT) is None:
        _step(ledger, row, process, VIA_STATE, actor, None, responsible, clock, now=now)

    draw = sample_draw(f"{case.id}:{agent.agent_id}")
    agent_context = agent.as_rule_context()
    rule_case = _rule_case(case, row.state)
    for proposal, record, evidence in records:
        if rule_case["state"] != row.state:  # an applied proposal moved the case
            rule_case = _rule_case(case, row.state)
        rule_hits = config.negative_list.evaluate(
            proposal=_rule_proposal(proposal, record.threshold, evidence),
            case=rule_case,
            agent=agent_context,
        )
        refusal = process_refusal(process, row.state, record.action, ActorKind.AGENT)
        if refusal is None:
            refusal = _value_problem(workflow_of, case.id, record.action, record.value)
        decision = decide(
            RoutingInput(
                action=record.action,
                confidence=record.confidence,
                engine_threshold=agent.threshold,
                obligations=agent.obligations,
                autonomy_level=agent.autonomy_level,
                rule_hits=rule_hits,
                process_refusal=refusal,
                process_id=process.id,
                sample_draw=draw,
            ),
            config.routing,
        )
        # Each check's English reason is the record; its code and params let a page
        # say it in its reader's language.
        reasons = [
            {
                "ref": check.ref,
                "verdict": check.verdict.value,
                "reason": check.reason,
                "code": check.code.value,
                "params": dict(check.params),
            }
            for check in decision.checks
        ]
        for hit in rule_hits:
            for entry in reasons:
                if entry["ref"] == f"rule:{hit.rule_id}":
                    entry["reason_zh"] = hit.reason.zh
        record.verdict = decision.verdict.value
        record.verdict_by = decision.decided_by
        record.reasons = canonical_text(reasons)
        ledger.add(
            kind="control.verdict",
            actor="system:control",
            case_id=case.id,
            payload={
                "proposal_id": record.id,
                "action": record.action,
                "verdict": decision.verdict.value,
                "decided_by": decision.decided_by,
                "checks": [{"ref": c["ref"], "verdict": c["verdict"]} for c in reasons],
                "confidence": record.confidence,
                "threshold": decision.threshold,
                "autonomy_level": decision.autonomy_level,
                "grade": agent.grade,
                "config_hash": config_hash,
            },
            responsible=responsible,
        )
        if decision.verdict is Verdict.APPLY:
            _apply(ledger, row, process, record, record.value, actor, responsible, clock, now)
            record.state = ProposalState.APPLIED.value
            record.outcome = Outcome.APPLIED.value
            record.final_value = record.value
            record.decided_at = now
    rows = [record for _, record, _ in records]
    if row.state == MERGED_STATE:
        # Merged by one of these proposals (or before): the rest never wait for anyone.
        _cancel_for_merge(ledger, rows, row, actor, clock)
    return rows


def _apply(
    ledger: _Ledger,
    row: CaseWorkflow,
    process: Process,
    record: ProposalRecord,
    value: str,
    actor: Actor,
    responsible: Responsible,
    clock: Clock | None,
    now: str | None = None,
) -> None:
    """Let one action take effect on the case, with its ledger entries."""
    now = now or iso_utc((clock or _SYSTEM_CLOCK).now())
    action = record.action
    target = IMPLIED_STATE.get(action)
    if target is not None:
        path = _path_to(process, row.state, target, actor.kind)
        if path is None:
            raise TransitionRefused(
                row.case_id, row.state, target, f"{action} cannot take effect in this state"
            )
    if action == "categorise":
        row.category = value
    elif action == "prioritise":
        row.priority = value
    elif action == "route":
        row.department = value
        if row.routed_at is None:
            row.routed_at = now
            row.routed_by = actor.ledger_actor
    elif action == "mark_duplicate":
        row.duplicate_of = value
    elif action == "draft_reply":
        row.reply = value
        row.reply_ai_drafted = True  # an agent wrote it, even if a human then edited it
    else:
        raise InvalidDecision("action", f"{action!r} is not an action control can apply")
    row.updated_at = now
    row.version += 1
    ledger.add(
        kind="proposal.applied",
        actor=actor.ledger_actor,
        case_id=row.case_id,
        payload={
            "proposal_id": record.id,
            "action": action,
            **_ledger_value(action, value),
            "by": actor.kind.value,
        },
        responsible=responsible,
    )
    if target is not None:
        for state in path or []:
            _step(ledger, row, process, state, actor, None, responsible, clock,
                  trigger=record.id, now=now)  # fmt: skip


def apply_human_decision(
    session: Session,
    *,
    proposal_id: str,
    outcome: Outcome,
    reviewer: str,
    config: ControlConfig,
    value: str | None = None,
    guardian: str | None = None,
    clock: Clock | None = None,
) -> ProposalRead:
    """Record a human's final decision on a proposal that waits for one, and let it
    take effect: approved (as proposed), edited (with ``value``) or rejected (not
    applied). The review package records the decision itself (review.decided) and
    calls this in the same transaction.

    An approved ``mark_duplicate`` whose case was itself merged while the proposal
    waited takes effect on the case that one repeats (the reviewer agreed it is a
    repeat; a repeat never points at a merged case): ``proposal.applied`` and the final
    value name that case. An edit to a merged case is refused, naming the one to use."""
    record = repository.get_proposal(session, proposal_id, for_update=True)
    if record is None:
        raise ProposalNotFound(proposal_id)
    if record.state != ProposalState.PENDING_REVIEW.value:
        raise ProposalNotPending(proposal_id, record.state)
    if outcome is Outcome.APPLIED:
        raise InvalidDecision("outcome", "a human approves, edits or rejects")
    if outcome is Outcome.EDITED:
        if value is None or not value.strip():
            raise InvalidDecision("value", "an edit needs the value the reviewer chose")
    elif value is not None and outcome is Outcome.APPROVED and value != record.value:
        raise InvalidDecision("value", "an approval applies the proposal as made; use edit")
    final = (value if outcome is Outcome.EDITED else record.value) or record.value
    if outcome is Outcome.APPROVED and record.action == "mark_duplicate":
        final = _original_of(session, final)
    now = iso_utc((clock or _SYSTEM_CLOCK).now())
    responsible = Responsible(
        developer=developer_ref(record.agent_id, record.agent_version, record.model_hash),
        deployer=f"config:{record.config_hash}",
        operator=f"user:{reviewer}",
        reviewer=f"user:{reviewer}",
        guardian=f"user:{guardian}" if guardian else None,
    )
    if outcome is not Outcome.REJECTED:
        row = _workflow_row(session, record.case_id)
        problem = _value_problem(_stored_workflow(session), record.case_id, record.action, final)
        if problem is not None:
            raise InvalidDecision("value", problem.reason)
        process = config.processes.get(row.process_id)
        refusal = process_refusal(process, row.state, record.action, ActorKind.HUMAN)
        if refusal is not None:
            raise TransitionRefused(row.case_id, row.state, record.action, refusal.reason)
        ledger = _Ledger(session, clock)
        was_merged = row.state == MERGED_STATE
        _apply(ledger, row, process, record, final, Actor.human(reviewer), responsible, clock)
        if row.state == MERGED_STATE and not was_merged:
            others = [
                other
                for other in repository.pending_proposals_for_case(session, record.case_id)
                if other.id != record.id
            ]
            _cancel_for_merge(ledger, others, row, Actor.human(reviewer), clock)
    record.state = ProposalState.DECIDED.value
    record.outcome = outcome.value
    record.final_value = final if outcome is not Outcome.REJECTED else None
    record.decided_at = now
    record.reviewer_id = reviewer
    session.flush()
    return ProposalRead.of(record)


def get_proposal(session: Session, *, proposal_id: str) -> ProposalRead:
    record = repository.get_proposal(session, proposal_id)
    if record is None:
        raise ProposalNotFound(proposal_id)
    return ProposalRead.of(record)


def proposals_for_case(session: Session, *, case_id: str) -> list[ProposalRead]:
    return [ProposalRead.of(row) for row in repository.proposals_for_case(session, case_id)]


def proposals_for_cases(
    session: Session, *, case_ids: Sequence[str]
) -> dict[str, list[ProposalRead]]:
    """Each case's proposals in :func:`proposals_for_case`'s order, keyed by case id
    (every id asked for is a key); a few queries for a whole period of cases."""
    by_case: dict[str, list[ProposalRead]] = {case_id: [] for case_id in case_ids}
    for row in repository.proposals_for_cases(session, list(by_case)):
        by_case[row.case_id].append(ProposalRead.of(row))
    return by_case


def cases_with_workflows(
    session: Session,
    *,
    ids: Sequence[str] | None = None,
    service_codes: Sequence[str] | None = None,
    received_from: str | None = None,
    received_to: str | None = None,
    state_in: Collection[str] | None = None,
    state_not_in: Collection[str] | None = None,
    limit: int = 1000,
) -> list[tuple[CaseRead, WorkflowRead | None]]:
    """Cases newest first, each with its workflow (None before one is opened), read in
    one query with every filter, the workflow-state ones included, applied before
    ``limit`` (times as ISO-8601 UTC text; ``state_not_in`` keeps cases without a
    workflow)."""
    rows = repository.cases_with_workflows(
        session,
        ids=ids,
        service_codes=service_codes,
        received_from=received_from,
        received_to=received_to,
        state_in=state_in,
        state_not_in=state_not_in,
        limit=limit,
    )
    return [
        (CaseRead.of(case), WorkflowRead.of(workflow) if workflow is not None else None)
        for case, workflow in rows
    ]


def workflows_for_cases(session: Session, *, case_ids: Sequence[str]) -> dict[str, WorkflowRead]:
    """The workflows of these cases, keyed by case id (a case without one is absent)."""
    return {
        row.case_id: WorkflowRead.of(row)
        for row in repository.workflows_for_cases(session, list(dict.fromkeys(case_ids)))
    }

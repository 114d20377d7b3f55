from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.control import (
    Actor,
    ControlConfig,
    InvalidDecision,
    Obligations,
    Outcome,
    ProposalNotPending,
    ProposalRead,
    ProposalState,
    TransitionRefused,
    Verdict,
    apply_human_decision,
    config_body,
    get_workflow,
    govern,
    proposals_for_case,
    transition,
)
from cogov.intake import CaseRead
from cogov.ledger import LedgerEntry
from cogov.triage import Evidence, EvidenceKind
from tests.control.conftest import make_agent, make_proposal


def kinds(session: Session, case_id: str) -> list[str]:
    query = select(LedgerEntry.kind).where(LedgerEntry.case_id == case_id).order_by(LedgerEntry.seq)
    return list(session.scalars(query))


def entries(session: Session, case_id: str, kind: str) -> list[dict[str, Any]]:
    query = select(LedgerEntry).where(LedgerEntry.case_id == case_id, LedgerEntry.kind == kind)
    return [json.loads(e.payload) for e in session.scalars(query.order_by(LedgerEntry.seq))]


class TestTransition:
    def test_follows_the_process_with_a_ledger_entry(
        self, db_session: Session, new_case: Callable[..., CaseRead], config: ControlConfig
    ) -> None:
        case = new_case()
        clerk = Actor.human("clerk")
        for state in ("assigned", "in_progress", "resolved"):
            transition(db_session, case_id=case.id, to_state=state, actor=clerk, config=config)
        transition(
            db_session,
            case_id=case.id,
            to_state="closed",
            actor=Actor.citizen(case.id),
            config=config,
        )
        assert get_workflow(db_session, case_id=case.id).state == "closed"
        moves = entries(db_session, case.id, "case.transitioned")
        assert [(m["from"], m["to"]) for m in moves] == [
            ("received", "assigned"),
            ("assigned", "in_progress"),
            ("in_progress", "resolved"),
            ("resolved", "closed"),
        ]
        assert moves[-1]["actor_kind"] == "citizen"

    @pytest.mark.parametrize(
        ("to_state", "actor", "reason"),
        [
            ("closed", Actor.human("clerk"), "no step from 'received' to 'closed'"),
            ("rejected", Actor.agent("router"), "only human may take this step, not agent"),
            ("assigned", Actor.citizen("x"), "only human may take this step, not citizen"),
            ("teleported", Actor.human("clerk"), "not a state of process"),
        ],
    )
    def test_refuses_steps_outside_the_process(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        to_state: str,
        actor: Actor,
        reason: str,
    ) -> None:
        case = new_case()
        with pytest.raises(TransitionRefused, match=reason):
            transition(db_session, case_id=case.id, to_state=to_state, actor=actor, config=config)
        assert get_workflow(db_session, case_id=case.id).state == "received"
        assert "case.transitioned" not in kinds(db_session, case.id)


class TestGovern:
    def test_applies_within_limits_and_records_every_step(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        case = new_case()
        result = govern(
            db_session,
            case=case,
            agent=make_agent(),
            proposals=[make_proposal("route", "Sanitation"), make_proposal("prioritise", "high")],
            config=config,
            config_hash=config_hash,
        )
        assert [p.state for p in result.proposals] == [ProposalState.APPLIED] * 2
        flow = result.workflow
        assert (flow.state, flow.department, flow.priority) == ("assigned", "Sanitation", "high")
        assert flow.routed_by == "agent:router"
        assert kinds(db_session, case.id) == [
            "case.received",
            "proposal.made",
            "proposal.made",
            "case.transitioned",
            "control.verdict",
            "proposal.applied",
            "control.verdict",
            "proposal.applied",
            "case.transitioned",
        ]
        verdicts = entries(db_session, case.id, "control.verdict")
        assert {v["decided_by"] for v in verdicts} == {"routing:within_limits"}
        query = select(LedgerEntry).where(LedgerEntry.kind == "control.verdict")
        responsible = json.loads(db_session.scalars(query).first().responsible)  # type: ignore[union-attr]
        assert responsible["developer"] == f"router@3 model:{'a' * 64}"
        assert responsible["deployer"] == f"config:{config_hash}"
        assert responsible["guardian"] == "user:g.wang"

    def test_low_confidence_waits_for_a_human(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        case = new_case()
        result = govern(
            db_session,
            case=case,
            agent=make_agent(),
            proposals=[make_proposal(confidence=0.5)],
            config=config,
            config_hash=config_hash,
        )
        (pending,) = result.pending
        assert pending.verdict is Verdict.REVIEW
        assert pending.verdict_by == "threshold:route"
        # Stored with a code and params, so a page words it in its reader's language.
        (check,) = [r for r in pending.reasons if r["ref"] == "threshold:route"]
        assert check["code"] == "below_threshold"
        assert check["params"] == {"confidence": 0.5, "threshold": pending.threshold}
        assert result.workflow.department is None
        assert result.workflow.state == "triaged"
        assert "proposal.applied" not in kinds(db_session, case.id)

    def test_evidence_facts_are_stored_with_their_labels(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        similar = Evidence(
            EvidenceKind.SIMILAR_CASE, "case 7 (Sanitation)", 0.8, {"case_id": "7", "label": "S"}
        )
        proposal = make_proposal(confidence=0.5)
        proposal = replace(
            proposal,
            explanation=replace(
                proposal.explanation, evidence=(*proposal.explanation.evidence, similar)
            ),
        )
        result = govern(
            db_session,
            case=new_case(),
            agent=make_agent(),
            proposals=[proposal],
            config=config,
            config_hash=config_hash,
        )
        (pending,) = result.pending
        token, stored = pending.explanation["evidence"]
        assert "data" not in token  # a label-only item reads as before
        assert stored == {
            "kind": "similar_case",
            "label": "case 7 (Sanitation)",
            "weight": 0.8,
            "data": {"case_id": "7", "label": "S"},
        }

    def test_a_rule_denies_and_the_case_goes_to_a_person(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        case = new_case(group={"age_band": "65_plus"})
        result = govern(
            db_session,
            case=case,
            agent=make_agent(),
            proposals=[make_proposal(label="age_band")],
            config=config,
            config_hash=config_hash,
        )
        (pending,) = result.pending
        assert pending.verdict is Verdict.DENY
        assert pending.verdict_by == "rule:no_protected_attributes"
        assert pending.reasons[0]["reason_zh"]
        assert pending.reasons[0]["code"] == "rule"

    def test_needs_assistance_is_never_auto_handled(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        case = new_case(group={"needs_assistance": True})
        result = govern(
            db_session,
            case=case,
            agent=make_agent(),
            proposals=[make_proposal(), make_proposal("categorise", "illegal_dumping")],
            config=config,
            config_hash=config_hash,
        )
        assert result.applied == ()
        assert {p.verdict_by for p in result.pending} == {"rule:needs_assistance_human"}

    def test_grade_iii_needs_a_human_for_what_affects_the_citizen(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        agent = make_agent(
            grade="III",
            obligations=Obligations(human_approves_citizen_affecting=True, max_autonomy_level=1),
        )
        result = govern(
            db_session,
            case=new_case(),
            agent=agent,
            proposals=[make_proposal(), make_proposal("categorise", "dumping")],
            config=config,
            config_hash=config_hash,
        )
        by_action = {p.action: p for p in result.proposals}
        assert by_action["categorise"].state is ProposalState.APPLIED
        assert by_action["route"].verdict_by == "obligation:human_approves_citizen_affecting"

    def test_duplicate_merges_into_an_existing_case(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        first, second = new_case(), new_case()
        result = govern(
            db_session,
            case=second,
            agent=make_agent(),
            proposals=[make_proposal("mark_duplicate", first.id), make_proposal("route", "DSNY")],
            config=config,
            config_hash=config_hash,
        )
        assert result.workflow.state == "merged"
        assert result.workflow.duplicate_of == first.id

    def test_duplicate_of_an_unknown_case_goes_to_a_person(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        result = govern(
            db_session,
            case=new_case(),
            agent=make_agent(),
            proposals=[make_proposal("mark_duplicate", "no-such-case")],
            config=config,
            config_hash=config_hash,
        )
        assert result.pending[0].verdict_by == "process:standard"

    def test_duplicate_of_a_merged_case_goes_to_a_person_naming_the_root(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        # first <- second (merged); an agent then says third repeats second: a repeat
        # must point at a case that is not merged, so a person decides, told of first.
        first, second, third = new_case(), new_case(), new_case()
        govern(db_session, case=second, agent=make_agent(),
               proposals=[make_proposal("mark_duplicate", first.id)], config=config,
               config_hash=config_hash)  # fmt: skip
        result = govern(
            db_session,
            case=third,
            agent=make_agent(),
            proposals=[make_proposal("mark_duplicate", second.id)],
            config=config,
            config_hash=config_hash,
        )
        [pending] = result.pending
        assert result.workflow.state != "merged"
        [check] = [c for c in pending.reasons if c["code"] == "duplicate_of_merged"]
        assert check["params"] == {"value": second.id, "root": first.id}
        assert f"merged into case {first.id}" in check["reason"]

    def test_draft_reply_is_ai_labelled_and_kept_out_of_the_ledger(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        case = new_case()
        text = "Thank you, Ms Chen. A crew will collect the mattress within 3 days."
        result = govern(
            db_session,
            case=case,
            agent=make_agent(),
            proposals=[make_proposal("draft_reply", text, confidence=0.97)],
            config=config,
            config_hash=config_hash,
        )
        assert result.workflow.reply == text
        assert result.workflow.reply_ai_drafted
        assert result.proposals[0].ai_drafted
        for entry in db_session.scalars(select(LedgerEntry)):
            assert "Ms Chen" not in entry.payload

    def test_config_hash_resolves_to_the_rules_in_force(
        self, db_session: Session, config_hash: str
    ) -> None:
        body = config_body(db_session, config_hash=config_hash)
        assert body is not None
        assert body["thresholds"] == {"router": 0.8}
        assert "no_reject_or_close" in [r["id"] for r in body["negative_list"]["rules"]]


class TestHumanDecision:
    def pending_route(
        self, db_session: Session, case: CaseRead, config: ControlConfig, config_hash: str
    ) -> str:
        result = govern(
            db_session,
            case=case,
            agent=make_agent(),
            proposals=[make_proposal(confidence=0.3)],
            config=config,
            config_hash=config_hash,
        )
        return result.pending[0].id

    def test_approval_applies_the_proposal(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        case = new_case()
        proposal_id = self.pending_route(db_session, case, config, config_hash)
        decided = apply_human_decision(
            db_session,
            proposal_id=proposal_id,
            outcome=Outcome.APPROVED,
            reviewer="r.li",
            config=config,
            guardian="g.wang",
        )
        assert decided.state is ProposalState.DECIDED
        assert decided.reviewer_id == "r.li"
        flow = get_workflow(db_session, case_id=case.id)
        assert (flow.state, flow.department, flow.routed_by) == (
            "assigned",
            "Sanitation",
            "user:r.li",
        )
        applied = entries(db_session, case.id, "proposal.applied")
        assert applied[-1]["by"] == "human"

    def test_edit_applies_the_reviewers_value(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        case = new_case()
        proposal_id = self.pending_route(db_session, case, config, config_hash)
        with pytest.raises(InvalidDecision, match="value"):
            apply_human_decision(
                db_session,
                proposal_id=proposal_id,
                outcome=Outcome.EDITED,
                reviewer="r.li",
                config=config,
            )
        decided = apply_human_decision(
            db_session,
            proposal_id=proposal_id,
            outcome=Outcome.EDITED,
            reviewer="r.li",
            config=config,
            value="Parks",
        )
        assert decided.final_value == "Parks"
        assert get_workflow(db_session, case_id=case.id).department == "Parks"

    def test_rejection_applies_nothing_and_is_final(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        case = new_case()
        proposal_id = self.pending_route(db_session, case, config, config_hash)
        apply_human_decision(
            db_session,
            proposal_id=proposal_id,
            outcome=Outcome.REJECTED,
            reviewer="r.li",
            config=config,
        )
        assert get_workflow(db_session, case_id=case.id).department is None
        with pytest.raises(ProposalNotPending):
            apply_human_decision(
                db_session,
                proposal_id=proposal_id,
                outcome=Outcome.APPROVED,
                reviewer="r.li",
                config=config,
            )
        (proposal,) = proposals_for_case(db_session, case_id=case.id)
        assert proposal.outcome is Outcome.REJECTED


def merge_decided(
    session: Session,
    new_case: Callable[..., CaseRead],
    config: ControlConfig,
    config_hash: str,
    outcome: Outcome,
) -> tuple[CaseRead, dict[str, ProposalRead]]:
    """A case whose merge and routing both wait for a human; the merge decided."""
    first, second = new_case(), new_case()
    result = govern(
        session,
        case=second,
        agent=make_agent(),
        proposals=[
            make_proposal("mark_duplicate", first.id, confidence=0.2),
            make_proposal("route", "DSNY", confidence=0.2),
        ],
        config=config,
        config_hash=config_hash,
    )
    by_action = {p.action: p for p in result.pending}
    apply_human_decision(
        session,
        proposal_id=by_action["mark_duplicate"].id,
        outcome=outcome,
        reviewer="r.li",
        config=config,
    )
    return second, by_action


class TestMergeCancelsWhatWaits:
    """A case merged into another (mark_duplicate applied) keeps nothing waiting on
    it: its other pending proposals are cancelled, each with a ledger entry and a
    reason, and none of them ever takes effect."""

    def test_the_same_agents_other_proposals_are_cancelled(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        first, second = new_case(), new_case()
        result = govern(
            db_session,
            case=second,
            agent=make_agent(),
            proposals=[
                make_proposal("mark_duplicate", first.id),
                make_proposal("categorise", "dumping", confidence=0.2),  # waits for a human
            ],
            config=config,
            config_hash=config_hash,
        )
        assert result.workflow.state == "merged"
        by_action = {p.action: p for p in result.proposals}
        assert by_action["categorise"].state is ProposalState.CANCELLED
        assert result.pending == ()
        (cancelled,) = entries(db_session, second.id, "proposal.cancelled")
        assert cancelled["proposal_id"] == by_action["categorise"].id
        assert cancelled["merged_into"] == first.id
        assert first.id in cancelled["reason"]
        assert get_workflow(db_session, case_id=second.id).category is None

    def test_another_agents_earlier_proposal_is_cancelled(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        first, second = new_case(), new_case()
        earlier = govern(
            db_session,
            case=second,
            agent=make_agent(),
            proposals=[make_proposal("route", "DSNY", confidence=0.2)],
            config=config,
            config_hash=config_hash,
        )
        (waiting,) = earlier.pending
        result = govern(
            db_session,
            case=second,
            agent=make_agent(agent_id="dedup"),
            proposals=[make_proposal("mark_duplicate", first.id)],
            config=config,
            config_hash=config_hash,
        )
        assert [p.id for p in result.cancelled] == [waiting.id]
        assert result.cancelled[0].state is ProposalState.CANCELLED
        stored = {p.id: p for p in proposals_for_case(db_session, case_id=second.id)}
        assert stored[waiting.id].state is ProposalState.CANCELLED
        with pytest.raises(ProposalNotPending):
            apply_human_decision(
                db_session,
                proposal_id=waiting.id,
                outcome=Outcome.APPROVED,
                reviewer="r.li",
                config=config,
            )
        assert get_workflow(db_session, case_id=second.id).department is None

    def test_a_reviewer_approving_a_merge_cancels_the_rest(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        second, by_action = merge_decided(
            db_session, new_case, config, config_hash, Outcome.APPROVED
        )
        stored = {p.id: p for p in proposals_for_case(db_session, case_id=second.id)}
        assert stored[by_action["route"].id].state is ProposalState.CANCELLED
        (cancelled,) = entries(db_session, second.id, "proposal.cancelled")
        assert (cancelled["proposal_id"], cancelled["by"]) == (by_action["route"].id, "human")
        assert kinds(db_session, second.id)[-1] == "proposal.cancelled"

    def test_a_rejected_merge_cancels_nothing(
        self,
        db_session: Session,
        new_case: Callable[..., CaseRead],
        config: ControlConfig,
        config_hash: str,
    ) -> None:
        second, by_action = merge_decided(
            db_session, new_case, config, config_hash, Outcome.REJECTED
        )
        stored = {p.id: p for p in proposals_for_case(db_session, case_id=second.id)}
        assert stored[by_action["route"].id].state is ProposalState.PENDING_REVIEW
        assert entries(db_session, second.id, "proposal.cancelled") == []

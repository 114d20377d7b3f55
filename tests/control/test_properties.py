"""Property test on a real database: for random cases and proposals, nothing a
rule, the process, the grade or the autonomy level holds back is applied without
a recorded human decision, and every state change has its ledger entry."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.control import (
    InvalidDecision,
    Obligations,
    Outcome,
    ProposalState,
    TransitionRefused,
    Verdict,
    apply_human_decision,
    get_workflow,
    govern,
    proposals_for_case,
)
from cogov.control.service import open_workflow, record_config
from cogov.intake import submit
from cogov.ledger import LedgerEntry
from tests.control.conftest import CONTROL, INTAKE, make_agent, make_proposal

ACTIONS = ["categorise", "prioritise", "route", "mark_duplicate", "draft_reply"]
VALUES = {
    "categorise": st.sampled_from(["dumping", "noise"]),
    "prioritise": st.sampled_from(["low", "high", "urgent", "whenever"]),
    "route": st.sampled_from(["DSNY", "NYPD", "Parks"]),
    "mark_duplicate": st.sampled_from(["unknown-case"]),
    "draft_reply": st.sampled_from(
        ["We will collect it within 3 days.", "You may be fined for this.", "关于补贴的答复"]
    ),
}
LABELS = st.sampled_from(["mattress", "age_band", "noise", "gender", "年龄", "damage"])


@st.composite
def proposals(draw: st.DrawFn) -> list[Any]:
    actions = draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=5, unique=True))
    return [
        make_proposal(
            action,
            draw(VALUES[action]),
            confidence=draw(st.floats(0.0, 1.0)),
            label=draw(LABELS),
        )
        for action in actions
    ]


CASES = st.fixed_dictionaries(
    {
        "service_code": st.sampled_from(["illegal_dumping", "benefits_enquiry", "noise"]),
        "group": st.fixed_dictionaries(
            {},
            optional={
                "needs_assistance": st.booleans(),
                "age_band": st.sampled_from(["18_34", "65_plus"]),
            },
        ),
    }
)
AGENTS = st.builds(
    lambda grade, level, suggest, human, rate, cap, features: make_agent(
        grade=grade,
        autonomy_level=level,
        obligations=Obligations(
            suggest_only=suggest,
            human_approves_citizen_affecting=human,
            review_sample_rate=rate,
            max_autonomy_level=cap,
        ),
        features=features,
    ),
    st.sampled_from(["I", "II", "III", "IV"]),
    st.integers(0, 3),
    st.booleans(),
    st.booleans(),
    st.sampled_from([0.0, 0.1, 1.0]),
    st.integers(0, 3),
    st.sampled_from([("description",), ("description", "age_band")]),
)


def ledger_for(session: Session, case_id: str) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.case_id == case_id).order_by(LedgerEntry.seq)
    return list(session.scalars(query))


class TestNothingHeldBackIsApplied:
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(case_body=CASES, agent=AGENTS, made=proposals(), decisions=st.data())
    def test_property(
        self,
        db_session: Session,
        case_body: dict[str, Any],
        agent: Any,
        made: list[Any],
        decisions: st.DataObject,
    ) -> None:
        config_hash = record_config(
            db_session, config=CONTROL, thresholds={agent.agent_id: agent.threshold}, clock=None
        )
        body = {"description": "Mattress on the kerb", "address_string": "1 Main St", **case_body}
        case = submit(db_session, body, config=INTAKE).case
        open_workflow(db_session, case=case, config=CONTROL)
        result = govern(
            db_session,
            case=case,
            agent=agent,
            proposals=made,
            config=CONTROL,
            config_hash=config_hash,
        )

        for proposal in result.proposals:
            held = any(r["verdict"] != Verdict.APPLY.value for r in proposal.reasons)
            if proposal.state is ProposalState.APPLIED:
                assert proposal.verdict is Verdict.APPLY
                assert not held
            else:
                assert proposal.state is ProposalState.PENDING_REVIEW
                assert proposal.verdict in (Verdict.REVIEW, Verdict.DENY)
                assert held
            if case_body["group"].get("needs_assistance"):
                assert proposal.state is not ProposalState.APPLIED

        # A human decides some of what waits; only then may it take effect.
        for pending in result.pending:
            outcome = decisions.draw(st.sampled_from([Outcome.APPROVED, Outcome.REJECTED, None]))
            if outcome is None:
                continue
            try:
                apply_human_decision(
                    db_session,
                    proposal_id=pending.id,
                    outcome=outcome,
                    reviewer="r.li",
                    config=CONTROL,
                )
            except (InvalidDecision, TransitionRefused):
                continue  # refused (e.g. a reply on a merged case): nothing changed

        final = proposals_for_case(db_session, case_id=case.id)
        entries = ledger_for(db_session, case.id)
        counted = Counter(entry.kind for entry in entries)
        payloads = [(e.kind, json.loads(e.payload)) for e in entries]
        applied_ids = {p["proposal_id"] for kind, p in payloads if kind == "proposal.applied"}
        for proposal in final:
            took_effect = proposal.outcome in (Outcome.APPLIED, Outcome.APPROVED, Outcome.EDITED)
            assert (proposal.id in applied_ids) == took_effect
            if proposal.verdict is not Verdict.APPLY and took_effect:
                assert proposal.reviewer_id == "r.li"
                assert proposal.state is ProposalState.DECIDED
        assert counted["proposal.made"] == len(made)
        assert counted["control.verdict"] == len(made)
        # Every change of the workflow row is one proposal.applied or case.transitioned.
        workflow = get_workflow(db_session, case_id=case.id)
        assert workflow.version - 1 == counted["proposal.applied"] + counted["case.transitioned"]
        for entry in entries:
            responsible = json.loads(entry.responsible)
            if entry.kind != "case.received":
                assert responsible["deployer"].endswith(config_hash)
                assert responsible["developer"].startswith(f"{agent.agent_id}@")

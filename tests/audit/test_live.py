"""The live adapter and responsibility reports, on cases walked through the real
intake and control services (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from sqlalchemy.orm import Session

from cogov.audit import AuditOptions, FairnessOptions, run_audit
from cogov.audit.live import frame_from_database
from cogov.audit.responsibility import responsibility_for_case, responsibility_for_period
from cogov.control import Actor, AgentContext, Outcome, load_control_config
from cogov.control.service import (
    apply_human_decision,
    govern,
    open_workflow,
    record_config,
    transition,
)
from cogov.core.clock import FixedClock
from cogov.core.types import Grade, Role
from cogov.identity import add_user
from cogov.intake import CaseRead, IntakeConfig, load_catalogue, load_group_attributes, submit
from cogov.registry import obligations_for
from cogov.review import decide_appeal, file_appeal
from cogov.triage.protocol import ActionKind, Evidence, EvidenceKind, Explanation, Proposal

INTAKE = IntakeConfig(
    catalogue=load_catalogue(), groups=load_group_attributes(), token_key=b"t" * 32
)
CONTROL = load_control_config()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def agent(grade: Grade, *, obligations_of: Grade | None = None, level: int = 3) -> AgentContext:
    # obligations_of differs from grade only to model a deployer's misconfiguration.
    return AgentContext(
        agent_id="router",
        version="2",
        grade=grade.value,
        obligations=obligations_for(obligations_of or grade),
        autonomy_level=level,
        engine_ref="cogov-default@2#abc",
        model_hash="b" * 64,
        threshold=0.8,
        guardian="g.wang",
        features=("description",),
    )


def proposal(value: str, confidence: float, similarity: float) -> Proposal:
    return Proposal(
        action=ActionKind.ROUTE,
        value=value,
        confidence=confidence,
        explanation=Explanation(
            summary=f"route -> {value}",
            evidence=(
                Evidence(EvidenceKind.TOKEN, "mattress", 0.4),
                Evidence(EvidenceKind.SIMILAR_CASE, "case 17 (Sanitation)", similarity),
            ),
        ),
    )


BODY = {
    "service_code": "illegal_dumping",
    "description": "Mattress dumped on the kerb",
    "address_string": "12 Main St",
}


def new_case(session: Session, clock: FixedClock, **group: Any) -> CaseRead:
    body = {**BODY, **group}
    case = submit(session, body, config=INTAKE, clock=clock).case
    open_workflow(session, case=case, config=CONTROL, clock=clock)
    return case


def close(session: Session, case_id: str, clock: FixedClock, hours: float) -> None:
    clock.advance(timedelta(hours=hours))
    for state in ("in_progress", "resolved", "closed"):
        transition(
            session,
            case_id=case_id,
            to_state=state,
            actor=Actor.human("w.li"),
            config=CONTROL,
            clock=clock,
        )


@pytest.fixture
def walked(db_session: Session) -> dict[str, str]:
    return walk(db_session)


def walk(db_session: Session) -> dict[str, str]:
    """Three cases: one the agent routed alone and closed; one a reviewer corrected;
    one a misconfigured grade-III agent routed alone, appealed and upheld."""
    clock = FixedClock(T0)
    config_hash = record_config(db_session, config=CONTROL, thresholds={"router": 0.8}, clock=clock)
    alone = new_case(db_session, clock)
    govern(
        db_session,
        case=alone,
        agent=agent(Grade.I),
        proposals=[proposal("Sanitation", 0.95, 0.9)],
        config=CONTROL,
        config_hash=config_hash,
        clock=clock,
    )
    close(db_session, alone.id, clock, 5)

    clock.set(T0 + timedelta(hours=1))
    corrected = new_case(db_session, clock, group={"needs_assistance": True, "age_band": "65_plus"})
    made = govern(
        db_session,
        case=corrected,
        agent=agent(Grade.I),
        proposals=[proposal("Parks", 0.5, 0.1)],
        config=CONTROL,
        config_hash=config_hash,
        clock=clock,
    )
    clock.advance(timedelta(hours=2))
    apply_human_decision(
        db_session,
        proposal_id=made.proposals[0].id,
        outcome=Outcome.EDITED,
        reviewer="r.chen",
        config=CONTROL,
        value="Sanitation",
        clock=clock,
    )

    clock.set(T0 + timedelta(hours=2))
    submitted = submit(db_session, BODY, config=INTAKE, clock=clock)
    appealed = submitted.case
    open_workflow(db_session, case=appealed, config=CONTROL, clock=clock)
    wrong = govern(
        db_session,
        case=appealed,
        agent=agent(Grade.III, obligations_of=Grade.I),
        proposals=[proposal("Parks", 0.9, 0.8)],
        config=CONTROL,
        config_hash=config_hash,
        clock=clock,
    )
    # The citizen appeals through the review package; a reviewer upholds it.
    add_user(db_session, username="a.ng", roles=[Role.REVIEWER], clock=clock)
    clock.advance(timedelta(hours=1))
    appeal = file_appeal(
        db_session,
        token=submitted.citizen_token,
        proposal_id=wrong.proposals[0].id,
        grounds="This is not a park: the mattress is on the street.",
        config=CONTROL,
        clock=clock,
    )
    clock.advance(timedelta(hours=1))
    decide_appeal(
        db_session,
        appeal_id=appeal.id,
        by="a.ng",
        outcome="upheld",
        reason="The photo shows a street, not a park.",
        config=CONTROL,
        clock=clock,
    )
    return {"alone": alone.id, "corrected": corrected.id, "appealed": appealed.id}


class TestLiveFrame:
    def test_cases_become_a_case_frame(self, db_session: Session, walked: dict[str, str]) -> None:
        frame = frame_from_database(db_session)
        rows = {row["case_id"]: row for row in frame.data.iter_rows(named=True)}
        alone, corrected, appealed = (rows[walked[k]] for k in ("alone", "corrected", "appealed"))
        assert alone["handled_without_human"] is True
        assert alone["overridden"] is None
        assert alone["proposed_route"] == alone["final_route"] == "Sanitation"
        assert alone["closed_at"] - alone["created_at"] == timedelta(hours=5)
        assert alone["routed_at"] == alone["created_at"]
        assert corrected["handled_without_human"] is False
        assert corrected["overridden"] is True
        assert (corrected["proposed_route"], corrected["final_route"]) == ("Parks", "Sanitation")
        assert corrected["needs_assistance"] == "true"
        assert corrected["age_band"] == "65_plus"
        assert appealed["appealed"] is True
        assert appealed["appeal_upheld"] is True
        assert "needs_assistance" in frame.groups
        assert "assisted" in frame.groups

    def test_the_whole_audit_runs_on_it(self, db_session: Session, walked: dict[str, str]) -> None:
        report = run_audit(
            frame_from_database(db_session),
            options=AuditOptions(fairness=FairnessOptions(replicates=50)),
        )
        overall = report.efficiency.overall.row(0, named=True)
        assert overall["cases"] == 3
        assert overall["override_rate"] == pytest.approx(1.0)  # the only human decision overrode
        assert overall["routing_accuracy"] == pytest.approx(2 / 3)
        assert overall["upheld_appeal_rate"] == pytest.approx(1 / 3)
        groups = {result.group for result in report.fairness}
        assert {"channel", "assisted", "needs_assistance", "age_band"} <= groups
        small = next(result for result in report.fairness if result.group == "needs_assistance")
        assert small.table.get_column("too_small").all()


class TestResponsibility:
    def test_nothing_wrong_blames_nobody(self, db_session: Session, walked: dict[str, str]) -> None:
        (report,) = responsibility_for_case(db_session, case_id=walked["alone"])
        assert not report.facts.wrong
        assert report.findings == ()

    def test_a_correction_on_unfamiliar_input_is_the_datas(
        self, db_session: Session, walked: dict[str, str]
    ) -> None:
        (report,) = responsibility_for_case(db_session, case_id=walked["corrected"])
        assert report.facts.overridden
        assert [f.rule for f in report.findings] == ["data.unlike_training"]
        assert report.findings[0].ledger_seqs  # cites the proposal.made entry

    def test_thin_group_in_training_data(self, db_session: Session, walked: dict[str, str]) -> None:
        (report,) = responsibility_for_case(
            db_session,
            case_id=walked["corrected"],
            training_group_shares={"age_band": {"65_plus": 0.01}},
        )
        assert "data.thin_group" in [f.rule for f in report.findings]

    def test_acting_alone_against_the_grade_is_the_deployers(
        self, db_session: Session, walked: dict[str, str]
    ) -> None:
        (report,) = responsibility_for_case(db_session, case_id=walked["appealed"])
        rules = {f.rule: f for f in report.findings}
        assert set(rules) == {"deployer.grade", "developer.confident_and_wrong"}
        deployer = rules["deployer.grade"]
        assert deployer.who is not None
        assert deployer.who.startswith("config:")
        data = report.as_dict()
        kinds = set(data["ledger_seqs"])
        assert len(kinds) >= 3  # verdict, applied and the upheld appeal

    def test_period_report_lists_only_wrong_proposals(
        self, db_session: Session, walked: dict[str, str]
    ) -> None:
        reports = responsibility_for_period(db_session, received_from=T0 - timedelta(days=1))
        assert {r.facts.case_id for r in reports} == {walked["corrected"], walked["appealed"]}


def test_period_bounds_select_cases(db_session: Session, walked: dict[str, str]) -> None:
    frame = frame_from_database(db_session, received_from=T0 + timedelta(minutes=30))
    assert set(frame.data.get_column("case_id")) == {walked["corrected"], walked["appealed"]}
    assert frame.data.schema["created_at"] == pl.Datetime("us")


def test_a_reviewer_who_approved_a_wrong_proposal_answers_for_it(db_session: Session) -> None:
    clock = FixedClock(T0)
    config_hash = record_config(db_session, config=CONTROL, thresholds={"router": 0.8}, clock=clock)
    submitted = submit(db_session, BODY, config=INTAKE, clock=clock)
    open_workflow(db_session, case=submitted.case, config=CONTROL, clock=clock)
    made = govern(
        db_session,
        case=submitted.case,
        agent=agent(Grade.I),
        proposals=[proposal("Parks", 0.5, 0.9)],
        config=CONTROL,
        config_hash=config_hash,
        clock=clock,
    )
    proposal_id = made.proposals[0].id
    apply_human_decision(
        db_session,
        proposal_id=proposal_id,
        outcome=Outcome.APPROVED,
        reviewer="r.chen",
        config=CONTROL,
        clock=clock,
    )
    add_user(db_session, username="a.ng", roles=[Role.REVIEWER], clock=clock)
    appeal = file_appeal(
        db_session,
        token=submitted.citizen_token,
        proposal_id=proposal_id,
        grounds="Wrong department.",
        config=CONTROL,
        clock=clock,
    )
    decide_appeal(
        db_session,
        appeal_id=appeal.id,
        by="a.ng",
        outcome="upheld",
        reason="It is a street.",
        config=CONTROL,
        clock=clock,
    )
    (report,) = responsibility_for_case(db_session, case_id=submitted.case.id)
    operator = [f for f in report.findings if f.rule == "operator.approved_wrong"]
    assert len(operator) == 1
    assert operator[0].who == "user:r.chen"
    assert len(operator[0].ledger_seqs) == 2  # the human's decision and the upheld appeal
    # Below its threshold, the model was not "confident and wrong".
    assert "developer.confident_and_wrong" not in {f.rule for f in report.findings}

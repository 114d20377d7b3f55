"""The deployment gate: its every reason, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.core.clock import FixedClock
from cogov.core.types import Grade
from cogov.identity import disable_user, set_roles
from cogov.registry import (
    GateDecision,
    activate,
    assign_guardians,
    attach_sandbox_report,
    gate,
    obligations_for,
    pause_agent,
    resume_agent,
    suspend,
)
from cogov.registry.models import RegistryAgent, RegistryFiling

from .conftest import WalkTo


def ask(
    db_session: Session,
    clock: FixedClock,
    *,
    service: str = "rodent",
    agent_id: str = "router-agent",
    version: int | None = None,
) -> GateDecision:
    return gate(db_session, agent_id=agent_id, service_code=service, now=clock.now(),
                version=version)  # fmt: skip


class TestGateAllows:
    def test_active_guarded_in_scope(
        self, db_session: Session, walk_to: WalkTo, clock: FixedClock
    ) -> None:
        filing = walk_to("active")
        decision = ask(db_session, clock)
        assert decision.allowed
        assert len(decision.reasons) == 1
        assert "guarded by g.chen (backup m.lopez)" in decision.reasons[0]
        assert decision.version == 1
        assert decision.grade is Grade.II
        assert decision.obligations == obligations_for(Grade.II).as_dict()
        assert decision.confidence_threshold == 0.8
        assert (decision.guardian, decision.backup_guardian) == ("g.chen", "m.lopez")
        assert decision.developer_org == "City Digital Office"
        assert decision.deployer == "311 Citizen Service Centre"
        assert decision.operating_department == "311 Citizen Service Centre"
        assert decision.model_hash == filing.document.model.hash
        assert decision.filing_hash == filing.document_hash
        assert decision.responsible.guardian == "user:g.chen"
        assert decision.responsible.developer is not None
        assert f"model sha256:{filing.document.model.hash}" in decision.responsible.developer
        assert decision.checked_at == clock.now()

    def test_the_named_active_version(
        self, db_session: Session, walk_to: WalkTo, clock: FixedClock
    ) -> None:
        walk_to("active")
        assert ask(db_session, clock, version=1).allowed


class TestGateRefuses:
    def test_unknown_agent(self, db_session: Session, staff: object, clock: FixedClock) -> None:
        decision = ask(db_session, clock, agent_id="ghost")
        assert not decision.allowed
        assert decision.reasons == ["Agent 'ghost' is not in the registry."]

    def test_not_yet_active(self, db_session: Session, walk_to: WalkTo, clock: FixedClock) -> None:
        walk_to("approved")
        decision = ask(db_session, clock)
        assert not decision.allowed
        assert decision.reasons == [
            "Agent 'router-agent' has no active version (its latest filing is approved)."
        ]

    def test_suspended(self, db_session: Session, walk_to: WalkTo, clock: FixedClock) -> None:
        walk_to("active")
        suspend(db_session, agent_id="router-agent", by="admin", reason="audit")
        assert ask(db_session, clock).reasons == [
            "Agent 'router-agent' has no active version (its latest filing is suspended)."
        ]

    def test_a_version_that_is_not_the_active_one(
        self, db_session: Session, walk_to: WalkTo, clock: FixedClock
    ) -> None:
        walk_to("active")
        walk_to("draft", name="Router 2")
        decision = ask(db_session, clock, version=2)
        assert not decision.allowed
        assert decision.reasons[0] == (
            "Version 2 of agent 'router-agent' is draft, not active; the active version is 1."
        )
        assert ask(db_session, clock, version=9).reasons == [
            "Agent 'router-agent' has no version 9."
        ]

    def test_paused_and_resumed(
        self, db_session: Session, walk_to: WalkTo, clock: FixedClock
    ) -> None:
        walk_to("active")
        pause_agent(db_session, agent_id="router-agent", by="m.lopez", reason="wrong routes",
                    clock=clock)  # fmt: skip
        decision = ask(db_session, clock)
        assert not decision.allowed
        assert decision.reasons == [
            "Agent 'router-agent' is paused by m.lopez (kill switch, since 2026-11-02 09:00 UTC):"
            " wrong routes"
        ]
        resume_agent(db_session, agent_id="router-agent", by="m.lopez", reason="fixed")
        assert ask(db_session, clock).allowed

    def test_service_out_of_scope(
        self, db_session: Session, walk_to: WalkTo, clock: FixedClock
    ) -> None:
        walk_to("active")
        decision = ask(db_session, clock, service="building-permits")
        assert not decision.allowed
        assert decision.reasons[0].startswith(
            "Service 'building-permits' is not in the filed scope of agent 'router-agent' ("
        )

    def test_guardian_disabled(
        self, db_session: Session, walk_to: WalkTo, clock: FixedClock
    ) -> None:
        walk_to("active")
        disable_user(db_session, username="g.chen", by="admin", reason="left")
        decision = ask(db_session, clock)
        assert not decision.allowed
        assert decision.reasons == ["The guardian 'g.chen' is disabled."]

    def test_backup_lost_the_reviewer_role(
        self, db_session: Session, walk_to: WalkTo, clock: FixedClock
    ) -> None:
        walk_to("active")
        set_roles(db_session, username="m.lopez", roles=["auditor"], by="admin", reason="moved")
        assert ask(db_session, clock).reasons == [
            "The backup guardian 'm.lopez' does not hold the reviewer role."
        ]

    def test_guardian_unset(self, db_session: Session, walk_to: WalkTo, clock: FixedClock) -> None:
        walk_to("active")
        # A binding lost outside the service (e.g. a restore): the gate still says why.
        agent = db_session.get(RegistryAgent, "router-agent")
        assert agent is not None
        agent.guardian_username = None
        agent.backup_guardian_username = None
        db_session.flush()
        assert ask(db_session, clock).reasons == [
            "The agent has no guardian.",
            "The agent has no backup guardian.",
        ]

    def test_guardian_reassigned_then_allowed_again(
        self, db_session: Session, walk_to: WalkTo, clock: FixedClock
    ) -> None:
        walk_to("active")
        disable_user(db_session, username="g.chen", by="admin", reason="left")
        assign_guardians(db_session, agent_id="router-agent", guardian="r.wu",
                         backup_guardian="m.lopez", by="admin", reason="g.chen left")  # fmt: skip
        decision = ask(db_session, clock)
        assert decision.allowed
        assert decision.guardian == "r.wu"
        assert decision.responsible.guardian == "user:r.wu"

    def test_sandbox_report_missing_for_grade_iii(
        self, db_session: Session, walk_to: WalkTo, clock: FixedClock
    ) -> None:
        walk_to("approved", grade="III")
        attach_sandbox_report(db_session, agent_id="router-agent", version=1, report_id="run-1",
                              report_hash="cd" * 32, by="g.chen", reason="passed")  # fmt: skip
        activate(db_session, agent_id="router-agent", by="admin", reason="go")
        assert ask(db_session, clock).allowed
        # The report is withdrawn outside the service: the gate re-checks it every time.
        row = db_session.scalars(select(RegistryFiling)).one()
        row.sandbox_report_id = None
        db_session.flush()
        assert ask(db_session, clock).reasons == [
            "Grade III needs an approved sandbox report and none is attached."
        ]

    def test_prohibited_use(self, db_session: Session, walk_to: WalkTo, clock: FixedClock) -> None:
        walk_to("active")
        # Never approvable through the service; the gate checks it anyway (defence in depth).
        row = db_session.scalars(select(RegistryFiling)).one()
        row.prohibited = True
        row.assessment = row.assessment.replace(
            '"prohibited":[]',
            '"prohibited":[{"evidence":"x","language":"en","source":"purpose",'
            '"use":"social_scoring"}]',
        )
        db_session.flush()
        assert ask(db_session, clock).reasons == [
            "The filing describes a prohibited use (social_scoring)."
        ]

    def test_every_reason_at_once(
        self, db_session: Session, walk_to: WalkTo, clock: FixedClock
    ) -> None:
        walk_to("active")
        pause_agent(db_session, agent_id="router-agent", by="g.chen", reason="stop", clock=clock)
        disable_user(db_session, username="m.lopez", by="admin", reason="left")
        decision = ask(db_session, clock, service="parking-permits")
        assert not decision.allowed
        assert len(decision.reasons) == 3
        assert [r.split(" ")[0] for r in decision.reasons] == ["Agent", "Service", "The"]

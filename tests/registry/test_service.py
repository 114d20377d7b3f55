"""Registry use cases on SQLite and PostgreSQL: filing, every lifecycle transition
(allowed and refused, each refusal with its message), guardians, the kill switch,
sandbox reports, history and the ledger trail."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.core.clock import FixedClock
from cogov.core.types import Grade, Role
from cogov.identity import MissingRole, UserDisabled, add_user, disable_user
from cogov.ledger import LedgerEntry
from cogov.registry import (
    AgentNotFound,
    FilingInvalid,
    FilingStatus,
    InvalidRegistryInput,
    NotPermitted,
    ProhibitedUseRefused,
    RefusalRecorded,
    SandboxReportMissing,
    TransitionRefused,
    UnchangedFiling,
    VersionNotFound,
    activate,
    active_periods,
    agents_for_service,
    approve,
    assign_guardians,
    attach_sandbox_report,
    file_agent,
    get_agent,
    get_filing,
    history,
    list_agents,
    list_filings,
    parse_filing,
    pause_agent,
    resume_agent,
    retire,
    submit,
    suspend,
)
from cogov.registry.rules import TRANSITIONS, Step

from .conftest import WalkTo, filing_data

STEPS = {"submit": submit, "approve": approve, "activate": activate, "suspend": suspend,
         "retire": retire}  # fmt: skip
BY = {"submit": "admin", "approve": "admin2", "activate": "admin", "suspend": "admin",
      "retire": "admin"}  # fmt: skip
REPORT_HASH = "ab" * 32


def ledger(session: Session, kind: str | None = None) -> list[dict[str, Any]]:
    query = select(LedgerEntry).order_by(LedgerEntry.seq)
    if kind:
        query = query.where(LedgerEntry.kind == kind)
    return [
        {"kind": e.kind, "actor": e.actor, "responsible": json.loads(e.responsible),
         **json.loads(e.payload)}
        for e in db_rows(session, query)
    ]  # fmt: skip


def db_rows(session: Session, query: Any) -> list[LedgerEntry]:
    return list(session.scalars(query))


class TestFileAgent:
    def test_files_version_1_as_a_graded_draft(
        self, db_session: Session, staff: dict[str, str], clock: FixedClock
    ) -> None:
        filing = file_agent(db_session, document=parse_filing(filing_data()), by="admin",
                            clock=clock)  # fmt: skip
        assert (filing.version, filing.status, filing.grade) == (1, FilingStatus.DRAFT, Grade.II)
        assert filing.filed_by == "user:admin"
        assert filing.filed_at == clock.now()
        [entry] = ledger(db_session, "filing.filed")
        assert entry["agent_id"] == "router-agent"
        assert entry["grade"] == "II"
        assert entry["document_hash"] == filing.document_hash
        assert entry["responsible"]["developer"].startswith("City Digital Office | router-agent@1")
        assert "contact" not in json.dumps(entry)  # no contact details in the ledger

    def test_a_change_makes_a_new_version_and_old_ones_stay_readable(
        self, db_session: Session, staff: dict[str, str]
    ) -> None:
        file_agent(db_session, document=parse_filing(filing_data()), by="admin")
        second = file_agent(db_session, document=parse_filing(filing_data(name="Router 2")))
        assert second.version == 2
        assert second.filed_by == "system:admin-cli"
        assert get_filing(db_session, agent_id="router-agent", version=1).document.name == (
            "Request router"
        )
        assert get_filing(db_session, agent_id="router-agent").document.name == "Router 2"
        assert [f.version for f in list_filings(db_session, agent_id="router-agent")] == [1, 2]

    def test_the_same_file_twice_is_refused(self, db_session: Session, staff: Any) -> None:
        file_agent(db_session, document=parse_filing(filing_data()))
        with pytest.raises(UnchangedFiling, match="identical to version 1; nothing filed"):
            file_agent(db_session, document=parse_filing(filing_data()))

    def test_a_prohibited_use_can_be_filed(self, db_session: Session, staff: Any) -> None:
        purpose = "Rate citizens based on their behavior for government rewards."
        filing = file_agent(db_session, document=parse_filing(filing_data(purpose=purpose)))
        assert filing.prohibited
        assert [f.use for f in filing.assessment.prohibited] == ["social_scoring"]
        assert ledger(db_session, "filing.filed")[0]["prohibited_uses"] == ["social_scoring"]

    def test_guardian_and_backup_must_differ(self, db_session: Session, staff: Any) -> None:
        data = filing_data(backup_guardian="g.chen")
        with pytest.raises(FilingInvalid, match="backup_guardian: must be a different user"):
            file_agent(db_session, document=parse_filing(data))

    def test_bad_answers_name_the_field(self, db_session: Session, staff: Any) -> None:
        data = filing_data()
        data["impact_assessment"]["answers"]["autonomy"] = "sometimes"
        with pytest.raises(FilingInvalid, match=r"impact_assessment\.answers\.autonomy"):
            file_agent(db_session, document=parse_filing(data))
        assert list_agents(db_session) == []

    def test_only_an_administrator_files(self, db_session: Session, staff: Any) -> None:
        with pytest.raises(MissingRole):
            file_agent(db_session, document=parse_filing(filing_data()), by="g.chen")


def _walk_to_status(walk_to: WalkTo, db_session: Session, status: str) -> None:
    if status == "suspended":
        walk_to("active")
        suspend(db_session, agent_id="router-agent", by="admin", reason="check")
    elif status == "retired":
        walk_to("draft")
        retire(db_session, agent_id="router-agent", by="admin", reason="not needed")
    else:
        walk_to(status)


LIFECYCLE = [
    (step, status)
    for step in ("submit", "approve", "activate", "suspend", "retire")
    for status in ("draft", "submitted", "approved", "active", "suspended", "retired")
]


class TestLifecycle:
    @pytest.mark.parametrize(("step", "status"), LIFECYCLE)
    def test_every_step_from_every_status(
        self, db_session: Session, walk_to: WalkTo, step: str, status: str
    ) -> None:
        _walk_to_status(walk_to, db_session, status)
        sources, target = TRANSITIONS[Step(step)]
        before = len(ledger(db_session))
        call = STEPS[step]
        if FilingStatus(status) in sources:
            filing = call(db_session, agent_id="router-agent", version=1, by=BY[step],
                          reason="because")  # fmt: skip
            assert filing.status is target
            [entry] = ledger(db_session)[before:]
            assert (entry["from"], entry["to"], entry["reason"]) == (status, target.value,
                                                                     "because")  # fmt: skip
            assert entry["actor"] == f"user:{BY[step]}"
            assert entry["responsible"]["deployer"].startswith("311 Citizen Service Centre")
        else:
            needs = " or ".join(s.value for s in sorted(sources, key=list(FilingStatus).index))
            message = f"cannot {step} router-agent v1: it is {status}; {step} needs {needs}"
            with pytest.raises(TransitionRefused) as caught:
                call(db_session, agent_id="router-agent", version=1, by=BY[step], reason="x")
            assert caught.value.message == message
            assert len(ledger(db_session)) == before

    def test_reinstating_a_suspended_filing(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("active")
        suspend(db_session, agent_id="router-agent", by="admin", reason="audit")
        assert get_agent(db_session, agent_id="router-agent").active_version is None
        filing = activate(db_session, agent_id="router-agent", by="admin", reason="audit ok")
        assert filing.status is FilingStatus.ACTIVE
        assert ledger(db_session)[-1]["kind"] == "filing.reinstated"

    def test_a_step_needs_a_reason(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("draft")
        with pytest.raises(InvalidRegistryInput, match="reason: must not be empty"):
            submit(db_session, agent_id="router-agent", by="admin", reason=" ")
        # Checked before white space is collapsed: split() would make U+001F a space.
        with pytest.raises(InvalidRegistryInput, match=r"reason: .* U\+001F at position 3"):
            submit(db_session, agent_id="router-agent", by="admin", reason="ok\x1fgo")

    def test_a_step_needs_an_active_administrator(
        self, db_session: Session, walk_to: WalkTo
    ) -> None:
        walk_to("draft")
        with pytest.raises(MissingRole, match=r"'g\.chen' does not hold the administrator role"):
            submit(db_session, agent_id="router-agent", by="g.chen", reason="x")
        disable_user(db_session, username="admin2", by="admin", reason="left")
        with pytest.raises(UserDisabled, match="'admin2' is disabled"):
            submit(db_session, agent_id="router-agent", by="admin2", reason="x")

    def test_unknown_agent_and_version(self, db_session: Session, walk_to: WalkTo) -> None:
        with pytest.raises(AgentNotFound, match="agent 'ghost' not found"):
            submit(db_session, agent_id="ghost", by="admin", reason="x")
        walk_to("draft")
        with pytest.raises(VersionNotFound, match="version 7"):
            submit(db_session, agent_id="router-agent", version=7, by="admin", reason="x")
        for beyond in (2**31, 10**20, 0, -1):  # no row holds it; PostgreSQL's INTEGER cannot
            with pytest.raises(VersionNotFound):
                submit(db_session, agent_id="router-agent", version=beyond, by="admin", reason="x")

    def test_activating_a_new_version_retires_the_old_one(
        self, db_session: Session, walk_to: WalkTo, clock: FixedClock
    ) -> None:
        walk_to("active")
        clock.advance(timedelta(days=30))
        second = walk_to("active", name="Router, retrained")
        assert second.version == 2
        first = get_filing(db_session, agent_id="router-agent", version=1)
        assert first.status is FilingStatus.RETIRED
        assert get_agent(db_session, agent_id="router-agent").active_version == 2
        superseded = [e for e in history(db_session, agent_id="router-agent")
                      if e.action == "superseded"]  # fmt: skip
        assert superseded[0].reason == "superseded by version 2"
        periods = active_periods(db_session, agent_id="router-agent")
        assert [(p.version, p.active_until is None) for p in periods] == [(1, False), (2, True)]
        assert periods[0].active_until == periods[1].active_from


class TestApprove:
    def test_four_eyes(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("submitted")
        with pytest.raises(TransitionRefused, match="'admin' submitted it; a different admin"):
            approve(db_session, agent_id="router-agent", by="admin", reason="self")

    @pytest.mark.parametrize("status", ["not_started", "in_progress", "failed"])
    def test_needs_a_passed_security_assessment(
        self, db_session: Session, walk_to: WalkTo, status: str
    ) -> None:
        walk_to("submitted", security_assessment={"status": status})
        with pytest.raises(TransitionRefused, match=f"security assessment is {status}; approval"):
            approve(db_session, agent_id="router-agent", by="admin2", reason="x")

    def test_a_rejected_ethics_review_blocks(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("submitted", ethics_review={"status": "rejected"})
        with pytest.raises(TransitionRefused, match="its ethics review rejected it"):
            approve(db_session, agent_id="router-agent", by="admin2", reason="x")

    def test_grade_iii_needs_an_approved_ethics_review(
        self, db_session: Session, walk_to: WalkTo
    ) -> None:
        walk_to("submitted", grade="III", ethics_review={"status": "pending"})
        with pytest.raises(TransitionRefused, match="grade III needs an approved ethics review"):
            approve(db_session, agent_id="router-agent", by="admin2", reason="x")

    @pytest.mark.parametrize(
        "purpose",
        [
            "Rate citizens based on their behavior for government rewards.",
            "推断来电人的民族和宗教信仰，以便分派。",
        ],
    )
    def test_a_prohibited_use_is_never_approved_and_the_refusal_is_kept(
        self, db_session: Session, walk_to: WalkTo, purpose: str
    ) -> None:
        walk_to("submitted", purpose=purpose)
        with pytest.raises(ProhibitedUseRefused, match="may be filed but never approved") as e:
            approve(db_session, agent_id="router-agent", by="admin2", reason="looks fine")
        assert isinstance(e.value, RefusalRecorded)
        db_session.commit()  # what the caller does with a RefusalRecorded
        [entry] = ledger(db_session, "filing.approval_refused")
        assert entry["refusal"] == e.value.message
        assert entry["actor"] == "user:admin2"
        assert get_filing(db_session, agent_id="router-agent").status is FilingStatus.SUBMITTED
        assert history(db_session, agent_id="router-agent")[-1].action == "approve_refused"

    @pytest.mark.parametrize(
        "question",
        ["scores_people_behaviour", "infers_protected_traits", "biometric_categorisation",
         "manipulation"],
    )  # fmt: skip
    def test_each_declared_prohibited_use_is_refused(
        self, db_session: Session, walk_to: WalkTo, question: str
    ) -> None:
        data = filing_data()
        answers = {**data["impact_assessment"]["answers"], question: "yes"}
        walk_to("submitted", impact_assessment={"answers": answers})
        with pytest.raises(ProhibitedUseRefused):
            approve(db_session, agent_id="router-agent", by="admin2", reason="x")


class TestActivate:
    @pytest.mark.parametrize("grade", ["III", "IV"])
    def test_grade_iii_and_iv_need_a_sandbox_report_and_the_refusal_is_kept(
        self, db_session: Session, walk_to: WalkTo, grade: str
    ) -> None:
        walk_to("approved", grade=grade)
        with pytest.raises(SandboxReportMissing) as caught:
            activate(db_session, agent_id="router-agent", by="admin", reason="go")
        assert caught.value.message == (
            f"cannot activate router-agent v1: grade {grade} needs an approved sandbox report "
            "before activation, and none is attached"
        )
        db_session.commit()
        [entry] = ledger(db_session, "filing.activation_refused")
        assert entry["missing"] == "sandbox_report"
        assert get_filing(db_session, agent_id="router-agent").status is FilingStatus.APPROVED

    def test_with_an_attached_report_grade_iii_activates(
        self, db_session: Session, walk_to: WalkTo
    ) -> None:
        walk_to("approved", grade="III")
        attach_sandbox_report(
            db_session, agent_id="router-agent", version=1, report_id="sandbox-run-7",
            report_hash=REPORT_HASH, by="g.chen", reason="replay of 2025 cases passed",
        )  # fmt: skip
        filing = activate(db_session, agent_id="router-agent", by="admin", reason="go")
        assert filing.status is FilingStatus.ACTIVE
        assert filing.sandbox_report_id == "sandbox-run-7"
        assert ledger(db_session, "filing.sandbox_report_attached")[0]["report_hash"] == (
            REPORT_HASH
        )

    @pytest.mark.parametrize("grade", ["I", "II"])
    def test_grades_i_and_ii_need_no_report(
        self, db_session: Session, walk_to: WalkTo, grade: str
    ) -> None:
        assert walk_to("active", grade=grade).status is FilingStatus.ACTIVE

    def test_guardians_go_on_duty(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("active")
        agent = get_agent(db_session, agent_id="router-agent")
        assert (agent.guardian, agent.backup_guardian) == ("g.chen", "m.lopez")

    @pytest.mark.parametrize(
        ("guardian", "message"),
        [
            ("nobody", "The guardian 'nobody' is not a registered user."),
            ("f.ali", "The guardian 'f.ali' does not hold the reviewer role."),
            ("retired.g", "The guardian 'retired.g' is disabled."),
        ],
    )
    def test_refused_without_guardians_on_duty(
        self, db_session: Session, walk_to: WalkTo, guardian: str, message: str
    ) -> None:
        add_user(db_session, username="retired.g", roles=[Role.REVIEWER])
        disable_user(db_session, username="retired.g", by="admin", reason="left")
        walk_to("approved", guardian=guardian)
        with pytest.raises(TransitionRefused) as caught:
            activate(db_session, agent_id="router-agent", by="admin", reason="go")
        assert caught.value.message == f"cannot activate router-agent v1: {message}"

    def test_agents_for_service(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("active")
        assert agents_for_service(db_session, service_code="rodent") == ["router-agent"]
        assert agents_for_service(db_session, service_code="potholes-on-mars") == []


class TestKillSwitch:
    @pytest.mark.parametrize("by", ["g.chen", "m.lopez", "admin"])
    def test_guardian_backup_or_administrator_pause_and_resume(
        self, db_session: Session, walk_to: WalkTo, by: str
    ) -> None:
        walk_to("active")
        agent = pause_agent(db_session, agent_id="router-agent", by=by, reason="odd routes")
        assert agent.paused
        assert (agent.paused_by, agent.pause_reason) == (by, "odd routes")
        assert ledger(db_session)[-1]["kind"] == "agent.paused"
        assert ledger(db_session)[-1]["responsible"] == {"guardian": "user:g.chen"}
        agent = resume_agent(db_session, agent_id="router-agent", by=by, reason="fixed")
        assert not agent.paused
        assert ledger(db_session)[-1]["kind"] == "agent.resumed"

    def test_another_reviewer_may_not(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("active")
        with pytest.raises(NotPermitted, match="neither a guardian of router-agent nor an admin"):
            pause_agent(db_session, agent_id="router-agent", by="r.wu", reason="x")

    def test_twice_is_refused(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("active")
        with pytest.raises(TransitionRefused, match="cannot resume router-agent: it is not paused"):
            resume_agent(db_session, agent_id="router-agent", by="g.chen", reason="x")
        pause_agent(db_session, agent_id="router-agent", by="g.chen", reason="x")
        with pytest.raises(TransitionRefused, match="it is already paused"):
            pause_agent(db_session, agent_id="router-agent", by="g.chen", reason="x")


class TestAssignGuardians:
    def test_reassigns_and_records(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("active")
        agent = assign_guardians(
            db_session, agent_id="router-agent", guardian="r.wu", backup_guardian="g.chen",
            by="admin", reason="m.lopez moved team",
        )  # fmt: skip
        assert (agent.guardian, agent.backup_guardian) == ("r.wu", "g.chen")
        entry = ledger(db_session, "agent.guardians_assigned")[0]
        assert entry["previous_backup_guardian"] == "m.lopez"

    def test_refuses_users_who_cannot_guard(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("active")
        with pytest.raises(TransitionRefused, match=r"'f\.ali' does not hold the reviewer role"):
            assign_guardians(db_session, agent_id="router-agent", guardian="g.chen",
                             backup_guardian="f.ali", by="admin", reason="x")  # fmt: skip
        with pytest.raises(TransitionRefused, match="are the same person"):
            assign_guardians(db_session, agent_id="router-agent", guardian="g.chen",
                             backup_guardian="g.chen", by="admin", reason="x")  # fmt: skip


class TestSandboxReport:
    def test_bad_hash_and_role(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("approved", grade="III")
        with pytest.raises(InvalidRegistryInput, match="report_hash: must be a SHA-256"):
            attach_sandbox_report(
                db_session, agent_id="router-agent", version=1, report_id="r",
                report_hash="xyz", by="g.chen", reason="x",
            )  # fmt: skip
        with pytest.raises(MissingRole):
            attach_sandbox_report(
                db_session, agent_id="router-agent", version=1, report_id="r",
                report_hash=REPORT_HASH, by="f.ali", reason="x",
            )  # fmt: skip


class TestHistory:
    def test_every_step_in_order_with_its_ledger_entry(
        self, db_session: Session, walk_to: WalkTo
    ) -> None:
        walk_to("active")
        pause_agent(db_session, agent_id="router-agent", by="g.chen", reason="check")
        events = history(db_session, agent_id="router-agent")
        assert [e.action for e in events] == ["filed", "submit", "approve", "activate", "paused"]
        seqs = [e.ledger_seq for e in events]
        assert seqs == sorted(seqs)
        kinds = {e.seq: e.kind for e in db_rows(db_session, select(LedgerEntry))}
        assert [kinds[s] for s in seqs] == [
            "filing.filed", "filing.submitted", "filing.approved", "filing.activated",
            "agent.paused",
        ]  # fmt: skip

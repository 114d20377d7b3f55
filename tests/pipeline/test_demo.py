"""The demo's agent filing as a reusable piece: the filing of an agent like the demo's,
with another agency's fields on top, filed and activated with four eyes."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.core.clock import SystemClock
from cogov.core.types import Role
from cogov.identity import add_user
from cogov.ledger import LedgerEntry
from cogov.pipeline import demo as runner
from cogov.pipeline.history import SplitHistory
from cogov.registry import FilingInvalid, TransitionRefused, get_agent, parse_filing
from cogov.triage import TrainedEngine
from cogov.triage.duplicates import DuplicateIndex


def other_agency(db_session: Session) -> None:
    add_user(db_session, username="admin", roles=[Role.ADMINISTRATOR])
    add_user(db_session, username="admin2", roles=[Role.ADMINISTRATOR], by="admin")
    for name in ("rita", "rob"):
        add_user(db_session, username=name, roles=[Role.REVIEWER], by="admin")


class TestAgentFiling:
    def test_the_demo_router_files_as_grade_ii_with_the_history_services(
        self, split: SplitHistory, router: TrainedEngine
    ) -> None:
        spec = runner.router_spec(split, router)
        document = parse_filing(runner.agent_filing(spec, split.catalogue.codes))
        assert document.agent_id == runner.AGENT_ID
        assert document.services == list(split.catalogue.codes)
        assert (document.guardian, document.backup_guardian) == (runner.GUARDIAN, runner.BACKUP)
        assert document.model.hash == router.identity.model_hash

    def test_each_agent_tells_the_public_what_it_itself_does(
        self, split: SplitHistory, router: TrainedEngine
    ) -> None:
        # The register shows these texts: the repeat finder's once repeated the router's.
        finder = DuplicateIndex()
        documents = [
            parse_filing(runner.agent_filing(spec, split.catalogue.codes))
            for spec in (runner.router_spec(split, router), runner.duplicates_spec(split, finder))
        ]
        routing, repeats = documents
        assert "which team" in routing.public_summary
        assert "repeats" in repeats.public_summary
        assert "duplicate" in repeats.technical_detail
        assert routing.public_summary != repeats.public_summary
        assert routing.technical_detail != repeats.technical_detail

    def test_overrides_replace_top_level_fields(
        self, split: SplitHistory, router: TrainedEngine
    ) -> None:
        spec = runner.router_spec(split, router)
        data = runner.agent_filing(
            spec, ["noise"], guardian="rita", backup_guardian="rob", confidence_threshold=0.99
        )
        document = parse_filing(data)
        assert (document.guardian, document.backup_guardian) == ("rita", "rob")
        assert document.confidence_threshold == 0.99
        assert document.services == ["noise"]

    def test_an_unknown_field_is_refused_by_the_schema(
        self, split: SplitHistory, router: TrainedEngine
    ) -> None:
        spec = runner.router_spec(split, router)
        with pytest.raises(FilingInvalid, match="gaurdian"):
            parse_filing(runner.agent_filing(spec, ["noise"], gaurdian="rita"))


class TestFileAndActivate:
    def test_another_agency_files_approves_with_four_eyes_and_activates(
        self, db_session: Session, split: SplitHistory, router: TrainedEngine
    ) -> None:
        other_agency(db_session)
        spec = runner.router_spec(split, router)
        document = runner.agent_filing(
            spec, split.catalogue.codes, guardian="rita", backup_guardian="rob"
        )
        filed = runner.file_and_activate(
            db_session, document, admin="admin", approver="admin2", clock=SystemClock()
        )
        assert (filed.version, str(filed.grade)) == (1, "II")
        agent = get_agent(db_session, agent_id=runner.AGENT_ID)
        assert agent.active_version == 1
        assert (agent.guardian, agent.backup_guardian) == ("rita", "rob")
        kinds = db_session.scalars(
            select(LedgerEntry.kind)
            .where(LedgerEntry.kind.like("filing.%"))
            .order_by(LedgerEntry.seq)
        ).all()
        assert kinds == ["filing.filed", "filing.submitted", "filing.approved", "filing.activated"]

    def test_one_administrator_cannot_approve_what_they_submitted(
        self, db_session: Session, split: SplitHistory, router: TrainedEngine
    ) -> None:
        other_agency(db_session)
        document = runner.agent_filing(
            runner.router_spec(split, router), ["noise"], guardian="rita", backup_guardian="rob"
        )
        with pytest.raises(TransitionRefused, match="four-eyes"):
            runner.file_and_activate(db_session, document, admin="admin", approver="admin")

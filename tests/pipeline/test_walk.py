from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.control import ProposalState, Verdict, get_workflow
from cogov.core.clock import SystemClock
from cogov.core.settings import load_settings
from cogov.core.types import Channel
from cogov.db.engine import make_engine
from cogov.db.migrate import upgrade
from cogov.db.session import unit_of_work
from cogov.intake import InvalidRequest
from cogov.ledger import LedgerEntry, verify
from cogov.pipeline import BatchItem, CaseOutcome, Deployment, process, process_batch
from cogov.pipeline import demo as runner
from cogov.pipeline.history import HistoryRecord, SplitHistory
from cogov.registry import service as registry
from cogov.review import decide, get_item, list_queue
from cogov.triage.classifier import _TOKEN_FLOOR, TrainedEngine, with_threshold
from cogov.triage.duplicates import DuplicateIndex

Make = Callable[..., dict[str, object]]


def trail(session: Session, case_id: str) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.case_id == case_id).order_by(LedgerEntry.seq)
    return list(session.scalars(query))


class TestProcess:
    def test_a_clear_request_is_routed_with_every_step_in_the_ledger(
        self, db_session: Session, agency: str, deployment: Deployment, request_for: Make
    ) -> None:
        outcome = process(
            db_session, request_for("missed garbage pickup near the school"), deployment=deployment
        )
        (proposal,) = outcome.proposals
        assert proposal.action == "route"
        assert proposal.value == "Sanitation"
        assert proposal.explanation["evidence"]
        kinds = [entry.kind for entry in trail(db_session, outcome.case.id)]
        assert kinds[:3] == ["case.received", "proposal.made", "case.transitioned"]
        assert "control.verdict" in kinds
        if proposal.verdict is Verdict.APPLY:
            assert outcome.workflow.department == "Sanitation"
            assert outcome.workflow.state == "assigned"
            assert kinds[-2:] == ["proposal.applied", "case.transitioned"]
        else:  # sampled for review (grade II): queued for the guardian's team
            assert kinds[-1] == "review.queued"
        for entry in trail(db_session, outcome.case.id)[1:]:
            responsible = json.loads(entry.responsible)
            assert responsible["developer"].startswith(f"{runner.AGENT_ID}@1 model:")
            assert responsible["deployer"] == f"config:{deployment.config_hash}"
            assert responsible["guardian"] == f"user:{runner.GUARDIAN}"

    def test_the_record_names_the_words_the_engine_names_and_no_minor_ones(
        self,
        db_session: Session,
        agency: str,
        deployment: Deployment,
        request_for: Make,
        router: TrainedEngine,
    ) -> None:
        # The floor on minor words is the engine's, so what is stored (and read by the
        # staff API, the ledger's explanation hash and every page) is what it named.
        text = "missed garbage pickup near the school"
        outcome = process(db_session, request_for(text), deployment=deployment)
        (proposal,) = outcome.proposals
        evidence = proposal.explanation["evidence"]
        stored_tokens = [(e["label"], e["weight"]) for e in evidence if e["kind"] == "token"]
        named = router.explain_text(text).explanation.evidence
        assert stored_tokens == [(e.label, e.weight) for e in named if e.kind == "token"]
        best = router.classes.index(proposal.value)
        every = router.top_contributions(text, router._matrix([text]), best, floor=0.0)
        strongest = every[0][1]
        minor = [name for name, weight in every if weight < _TOKEN_FLOOR * strongest]
        assert minor, every  # the text has minor words for the floor to leave out
        assert not {name for name, _ in stored_tokens} & set(minor)
        assert stored_tokens[0][0] == every[0][0]

    def test_what_waits_for_a_human_is_queued_for_the_guardians_team(
        self, db_session: Session, agency: str, deployment: Deployment, request_for: Make
    ) -> None:
        body = request_for("missed garbage pickup", group={"needs_assistance": True})
        outcome = process(db_session, body, deployment=deployment)
        (run,) = outcome.runs
        assert run.governed is not None
        (pending,) = run.governed.pending
        assert pending.verdict_by == "rule:needs_assistance_human"
        item = get_item(db_session, item_id=run.review_item_ids[0])
        assert item.guardian == runner.GUARDIAN
        assert item.team == runner.TEAM
        assert "needs_assistance_human" in item.reason
        assert outcome.needs_human
        assert outcome.workflow.department is None

    def test_a_paused_agent_does_not_act_and_the_case_waits_for_people(
        self, db_session: Session, agency: str, deployment: Deployment, request_for: Make
    ) -> None:
        registry.pause_agent(
            db_session, agent_id=runner.AGENT_ID, by=runner.GUARDIAN, reason="checking drift"
        )
        outcome = process(db_session, request_for("pothole in the road"), deployment=deployment)
        (run,) = outcome.runs
        assert not run.allowed
        assert "paused" in run.reasons[0]
        assert outcome.proposals == ()
        assert outcome.needs_human
        assert get_workflow(db_session, case_id=outcome.case.id).state == "received"
        kinds = [entry.kind for entry in trail(db_session, outcome.case.id)]
        assert kinds == ["case.received", "control.gate_refused"]

    def test_an_engine_that_is_not_the_filed_model_may_not_act(
        self, db_session: Session, agency: str, deployment: Deployment, request_for: Make
    ) -> None:
        engine = deployment.engines[runner.AGENT_ID]
        swapped = with_threshold(engine, 0.5)  # another model file, another hash
        changed = Deployment(
            intake=deployment.intake,
            control=deployment.control,
            engines={runner.AGENT_ID: swapped},
        )
        outcome = process(db_session, request_for("pothole in the road"), deployment=changed)
        (run,) = outcome.runs
        assert not run.allowed
        assert "not the filed model" in run.reasons[0]

    def test_a_retry_returns_the_same_case_without_walking_it_again(
        self, db_session: Session, agency: str, deployment: Deployment, request_for: Make
    ) -> None:
        body = request_for("recycling not collected")
        first = process(db_session, body, deployment=deployment, idempotency_key="k-1")
        again = process(db_session, body, deployment=deployment, idempotency_key="k-1")
        assert again.replayed
        assert again.case.id == first.case.id
        assert again.workflow == get_workflow(db_session, case_id=first.case.id)
        kinds = [entry.kind for entry in trail(db_session, first.case.id)]
        assert kinds.count("case.received") == 1
        assert kinds.count("proposal.made") == 1

    def test_an_unknown_service_is_refused_before_anything_is_stored(
        self, db_session: Session, agency: str, deployment: Deployment, request_for: Make
    ) -> None:
        before = db_session.scalar(select(LedgerEntry.seq).order_by(LedgerEntry.seq.desc()))
        with pytest.raises(InvalidRequest) as caught:
            process(db_session, request_for("x", service="nope"), deployment=deployment)
        assert caught.value.field == "service_code"
        after = db_session.scalar(select(LedgerEntry.seq).order_by(LedgerEntry.seq.desc()))
        assert after == before

    def test_the_ledger_verifies_after_the_walk(
        self, db_session: Session, agency: str, deployment: Deployment, request_for: Make
    ) -> None:
        for text in ("pothole in the road", "loud music from party", "dead tree on the street"):
            service = {"pothole": "transport", "loud": "police", "dead": "parks"}[text.split()[0]]
            process(db_session, request_for(text, service=service), deployment=deployment)
        report = verify(db_session, public_key=None)
        assert report.ok, report.problem


class TestProcessBatch:
    def test_walks_many_commits_per_batch_and_reports_refused_requests(
        self,
        tmp_path: Path,
        split: SplitHistory,
        router: TrainedEngine,
        deployment: Deployment,
        request_for: Make,
    ) -> None:
        engine = make_engine(f"sqlite:///{tmp_path / 'batch.sqlite3'}")
        upgrade(engine)
        try:
            with unit_of_work(engine) as session:
                runner.set_up_agency(session, split=split, engine=router, clock=SystemClock())
            items = [
                BatchItem(request_for("missed garbage pickup"), source_ref="1"),
                BatchItem(request_for("x", service="nope"), source_ref="2"),
                BatchItem(request_for("pothole in the road", service="transport"), source_ref="3"),
                BatchItem(request_for("dead tree on the street", service="parks"), source_ref="4"),
            ]
            seen: list[int] = []
            report = process_batch(
                engine,
                items,
                deployment=deployment,
                batch_size=2,
                on_case=lambda index, _outcome: seen.append(index),
            )
            assert report.refused == [(1, "service_code", "'nope' is not a service of this agency")]
            assert seen == [0, 2, 3]
            assert [o.case.source_ref for o in report.outcomes] == ["1", "3", "4"]
            with unit_of_work(engine) as session:
                for outcome in report.outcomes:
                    stored = get_workflow(session, case_id=outcome.case.id)
                    assert stored == outcome.workflow
                assert verify(session, public_key=None).ok
        finally:
            engine.dispose()


def with_repeat_finder(
    tmp_path: Path,
    session: Session,
    split: SplitHistory,
    router: TrainedEngine,
    duplicates: DuplicateIndex,
) -> Deployment:
    """The demo agency with both agents: the router and the repeat finder."""
    runner.set_up_agency(
        session, split=split, engine=router, duplicates=duplicates, clock=SystemClock()
    )
    return Deployment.from_settings(
        load_settings(data_dir=tmp_path),
        engines={runner.AGENT_ID: router, runner.DEDUP_ID: duplicates},
        catalogue=split.catalogue,
    )


class TestOpenCaseIndex:
    def test_a_repeat_of_an_open_case_is_proposed_as_its_duplicate(
        self,
        tmp_path: Path,
        db_session: Session,
        split: SplitHistory,
        router: TrainedEngine,
        request_for: Make,
    ) -> None:
        duplicates = DuplicateIndex()
        deployment = with_repeat_finder(tmp_path, db_session, split, router, duplicates)
        place = {"address_string": "12 Main St", "lat": 40.7128, "long": -74.006}
        first = process(
            db_session, request_for("overflowing litter basket", **place), deployment=deployment
        )
        assert first.case.id in duplicates
        again = process(
            db_session, request_for("overflowing litter basket", **place), deployment=deployment
        )
        repeats = [p for p in again.proposals if p.action == "mark_duplicate"]
        assert [p.value for p in repeats] == [first.case.id]
        assert repeats[0].agent_id == runner.DEDUP_ID
        assert any(e["label"] == "same address" for e in repeats[0].explanation["evidence"])


class TestMergedCase:
    """A case merged into another leaves nothing waiting on it: its other pending
    proposals are cancelled (proposal.cancelled, with the reason) and their review
    items closed (review.cancelled), never left for a reviewer."""

    def _walk_repeats(
        self, tmp_path: Path, db_session: Session, split: SplitHistory, router: TrainedEngine,
        request_for: Make, **extra: object,
    ) -> Iterator[CaseOutcome]:  # fmt: skip
        """The first report of a place is walked; then, lazily, repeats of it."""
        deployment = with_repeat_finder(tmp_path, db_session, split, router, DuplicateIndex())
        place = {"address_string": "12 Main St", "lat": 40.7128, "long": -74.006}
        text = "overflowing litter basket"
        process(db_session, request_for(text, **place), deployment=deployment)
        return (
            process(db_session, request_for(text, **place, **extra), deployment=deployment)
            for _ in range(12)
        )

    def test_an_agent_merge_cancels_the_other_agents_proposal(
        self, tmp_path: Path, db_session: Session, split: SplitHistory, router: TrainedEngine,
        request_for: Make,
    ) -> None:  # fmt: skip
        repeats = self._walk_repeats(tmp_path, db_session, split, router, request_for)
        # The grade samples 10% of what an agent does alone for review: take the
        # first repeat the repeat finder merged on its own.
        again = next(r for r in repeats if r.workflow.state == "merged")
        by_action = {p.action: p for p in again.proposals}
        assert by_action["mark_duplicate"].state is ProposalState.APPLIED
        assert by_action["route"].state is ProposalState.CANCELLED
        assert not any(run.review_item_ids for run in again.runs)
        assert not again.needs_human
        (cancelled,) = [
            e for e in trail(db_session, again.case.id) if e.kind == "proposal.cancelled"
        ]
        payload = json.loads(cancelled.payload)
        assert payload["proposal_id"] == by_action["route"].id
        # The first report, or a repeat that stayed open because it was sampled.
        merged_into = by_action["mark_duplicate"].value
        assert payload["merged_into"] == merged_into
        assert merged_into in payload["reason"]
        assert get_workflow(db_session, case_id=merged_into).state != "merged"
        assert json.loads(cancelled.responsible)["developer"].startswith(f"{runner.AGENT_ID}@")
        assert verify(db_session, public_key=None).ok

    def test_approving_a_merge_closes_the_other_review_items(
        self, tmp_path: Path, db_session: Session, split: SplitHistory, router: TrainedEngine,
        request_for: Make,
    ) -> None:  # fmt: skip
        repeats = self._walk_repeats(
            tmp_path, db_session, split, router, request_for, group={"needs_assistance": True}
        )
        again = next(repeats)  # a person handles every step of this one
        items = {
            p.action: item_id
            for run in again.runs
            if run.governed is not None
            for p, item_id in zip(run.governed.pending, run.review_item_ids, strict=True)
        }
        assert set(items) == {"mark_duplicate", "route"}
        decide(
            db_session,
            item_id=items["mark_duplicate"],
            reviewer=runner.GUARDIAN,
            decision="approve",
            config=Deployment.from_settings(load_settings(data_dir=tmp_path), engines={}).control,
        )
        assert get_workflow(db_session, case_id=again.case.id).state == "merged"
        route_item = get_item(db_session, item_id=items["route"])
        assert route_item.state == "cancelled"
        assert route_item.proposal_id not in {
            item.proposal_id for item in list_queue(db_session, team=runner.TEAM)
        }
        kinds = [e.kind for e in trail(db_session, again.case.id)]
        assert kinds[-5:] == [
            "proposal.applied",
            "case.transitioned",
            "proposal.cancelled",
            "review.cancelled",
            "review.decided",
        ]
        cancelled = [e for e in trail(db_session, again.case.id) if e.kind == "proposal.cancelled"]
        assert cancelled[0].actor == f"user:{runner.GUARDIAN}"
        assert verify(db_session, public_key=None).ok

    def test_the_demo_replay_counts_what_a_merge_cancelled_instead_of_failing(
        self, tmp_path: Path, db_session: Session, split: SplitHistory, router: TrainedEngine,
        request_for: Make,
    ) -> None:  # fmt: skip
        repeats = self._walk_repeats(
            tmp_path, db_session, split, router, request_for, group={"needs_assistance": True}
        )
        again = next(repeats)  # both proposals wait for a person
        # Decide the merge first, as a replay does when the repeat finder's run comes
        # first: the agency closed this request as a duplicate.
        merge_first = sorted(
            again.runs,
            key=lambda run: (
                run.governed is None or run.governed.pending[0].action != "mark_duplicate"
            ),
        )
        again = dataclasses.replace(again, runs=tuple(merge_first))
        record = HistoryRecord(
            ref="r1", text="overflowing litter basket", service_name="sanitation",
            department="Sanitation", channel=Channel.WEB, was_duplicate=True,
        )  # fmt: skip
        tally = runner.ReplayTally()
        runner.decide_as_the_agency(
            db_session,
            outcome=again,
            record=record,
            config=Deployment.from_settings(load_settings(data_dir=tmp_path), engines={}).control,
            clock=SystemClock(),
            tally=tally,
        )
        assert get_workflow(db_session, case_id=again.case.id).state == "merged"
        assert tally.human_decisions == {"approve": 1}
        assert tally.cancelled_by_merge == 1
        assert tally.left_for_people == 0
        assert verify(db_session, public_key=None).ok

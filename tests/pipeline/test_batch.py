"""The batch path (``process_batch``: one registry read per batch, bulk inserts, one
ledger append) must govern exactly as the single path (``process``): the same case
states, proposals, verdicts, review items and ledger entries (kinds, actors,
payloads, responsible parties, order) for the same requests. Ids come from one
counter and the clock is fixed, so the two runs can be compared field by field."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from cogov.control.models import CaseWorkflow, ProposalRecord
from cogov.core.clock import FixedClock, SystemClock
from cogov.db.engine import make_engine
from cogov.db.migrate import upgrade
from cogov.db.session import unit_of_work
from cogov.intake.models import Case, CaseContact
from cogov.ledger import LedgerEntry, verify
from cogov.pipeline import (
    BatchItem,
    CaseOutcome,
    Deployment,
    PreparesBatch,
    process,
    process_batch,
)
from cogov.pipeline import demo as runner
from cogov.pipeline.history import SplitHistory
from cogov.review.models import ReviewItem
from cogov.triage.classifier import TrainedEngine
from cogov.triage.duplicates import DuplicateIndex
from cogov.triage.protocol import CaseView
from tests.conftest import PG_URL, fresh_postgres_database

Make = Callable[..., dict[str, object]]
ID_MODULES = ("cogov.intake.service", "cogov.control.service", "cogov.review.service")


@pytest.fixture(params=["sqlite", "postgresql"])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Engine]]:
    """Two fresh, migrated databases of one backend: one per path."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            urls = [f"sqlite:///{tmp_path / f'{name}.sqlite3'}" for name in ("one", "batch")]
        else:
            if not PG_URL:
                pytest.skip("PostgreSQL not configured: set COGOV_TEST_DATABASE_URL to run on it")
            urls = [stack.enter_context(fresh_postgres_database(PG_URL)) for _ in range(2)]
        engines = [make_engine(url) for url in urls]
        for engine in engines:
            stack.callback(engine.dispose)
            upgrade(engine)
        yield engines


def _items(request_for: Make) -> list[BatchItem]:
    place = {"address_string": "12 Main St", "lat": 40.7128, "long": -74.006}
    return [
        BatchItem(request_for("missed garbage pickup near the school"), source_ref="1"),
        BatchItem(request_for("pothole in the road", service="transport"), source_ref="2"),
        # A person must look: the group attribute, and a text the engine cannot place.
        BatchItem(request_for("rubbish bags on kerb", group={"needs_assistance": True})),
        BatchItem(request_for("zzz qqq", service="parks", email="a@example.org")),
        # The same place twice in one batch: the second is proposed as the first's repeat.
        BatchItem(request_for("overflowing litter basket", **place), source_ref="5"),
        BatchItem(request_for("overflowing litter basket", **place), source_ref="6"),
        # Staff entry, then a retry of a keyed request within the batch.
        BatchItem(
            request_for("street light not working", service="transport", channel="phone"),
            entered_by="clerk1",
            idempotency_key="k-1",
        ),
        BatchItem(
            request_for("street light not working", service="transport", channel="phone"),
            entered_by="clerk1",
            idempotency_key="k-1",
        ),
        BatchItem(request_for("x", service="nope")),  # refused by validation
        BatchItem(request_for("fallen tree branch in park", service="parks"), source_ref="9"),
    ]


def _run(
    engine: Engine,
    split: SplitHistory,
    router: TrainedEngine,
    deployment: Deployment,
    items: list[BatchItem],
    monkeypatch: pytest.MonkeyPatch,
    batched: bool,
) -> tuple[list[CaseOutcome], dict[str, Any]]:
    counter = itertools.count(1)
    for module in ID_MODULES:
        monkeypatch.setattr(f"{module}.new_id", lambda: f"id-{next(counter):06d}")
    duplicates = DuplicateIndex()
    with unit_of_work(engine) as session:
        runner.set_up_agency(
            session, split=split, engine=router, duplicates=duplicates, clock=SystemClock()
        )
    walked = dataclasses.replace(
        deployment,
        engines={runner.AGENT_ID: router, runner.DEDUP_ID: duplicates},
        clock=FixedClock(datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
    )
    if batched:
        outcomes = process_batch(engine, items, deployment=walked, batch_size=50).outcomes
    else:
        outcomes = []
        with unit_of_work(engine) as session:
            for item in items:
                if item.request.get("service_code") == "nope":
                    continue
                outcomes.append(
                    process(
                        session,
                        item.request,
                        deployment=walked,
                        idempotency_key=item.idempotency_key,
                        entered_by=item.entered_by,
                        source_ref=item.source_ref,
                    )
                )
    with unit_of_work(engine) as session:
        assert verify(session, public_key=None).ok
        case_ids = [o.case.id for o in outcomes]
        ledger = session.scalars(
            select(LedgerEntry).where(LedgerEntry.case_id.in_(case_ids)).order_by(LedgerEntry.seq)
        )
        stored = {
            "ledger": [
                (e.kind, e.case_id, e.actor, json.loads(e.responsible), json.loads(e.payload))
                for e in ledger
            ],
            **{
                model.__tablename__: _rows(session, model, key)
                for model, key in [
                    (Case, Case.id),
                    (CaseContact, CaseContact.case_id),
                    (CaseWorkflow, CaseWorkflow.case_id),
                    (ProposalRecord, ProposalRecord.id),
                    (ReviewItem, ReviewItem.id),
                ]
            },
        }
    vault = deployment.intake.vault
    assert vault is not None
    for row in stored["case_contacts"]:  # sealed under a random nonce: compare what it holds
        row["sealed"] = vault.open(row["case_id"], row["key_id"], row["sealed"])
    return outcomes, stored


def _rows(session: Any, model: Any, key: Any) -> list[dict[str, Any]]:
    columns = [c.key for c in model.__table__.columns]
    return [
        {c: getattr(row, c) for c in columns}
        for row in session.scalars(select(model).order_by(key))
    ]


class TestBatchMatchesSingle:
    def test_same_states_proposals_verdicts_and_ledger(
        self,
        two_databases: list[Engine],
        split: SplitHistory,
        router: TrainedEngine,
        deployment: Deployment,
        request_for: Make,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        items = _items(request_for)
        one, one_stored = _run(two_databases[0], split, router, deployment, items, monkeypatch,
                               batched=False)  # fmt: skip
        many, many_stored = _run(two_databases[1], split, router, deployment, items, monkeypatch,
                                 batched=True)  # fmt: skip

        assert [o.case for o in many] == [o.case for o in one]
        assert (
            [o.replayed for o in many] == [o.replayed for o in one] == [False] * 7 + [True, False]
        )
        assert [o.workflow for o in many] == [o.workflow for o in one]
        assert [o.runs for o in many] == [o.runs for o in one]
        assert many_stored == one_stored
        # The walk did what it should: something applied, something waits for a human,
        # a repeat within the batch was seen, and every step left its entry.
        proposals = [p for o in one for p in o.proposals]
        assert {p.verdict.value for p in proposals} >= {"apply", "review"}
        assert any(p.action == "mark_duplicate" and p.value == one[4].case.id for p in proposals)
        kinds = {entry[0] for entry in one_stored["ledger"]}
        assert kinds >= {"case.received", "proposal.made", "control.verdict",
                         "proposal.applied", "case.transitioned", "review.queued"}  # fmt: skip
        assert len(one_stored["review_items"]) == sum(len(p.pending) for o in one for p in
                                                     [r.governed for r in o.runs] if p)  # fmt: skip


class TestPreparedEngine:
    def test_a_prepared_batch_gets_the_same_proposals_as_one_at_a_time(
        self, router: TrainedEngine, split: SplitHistory
    ) -> None:
        views = [
            CaseView(case_id=str(n), description=text)
            for n, text in enumerate(
                [r.text for r in split.replay]
                + ["pothole in the road", "pothole in the road", "broken bench 4"]
            )
        ]
        one_at_a_time = [router.propose(view) for view in views]
        router.prepare(views)
        assert [router.propose(view) for view in views] == one_at_a_time
        router.prepare([])  # a new hint replaces the old one
        assert [router.propose(view) for view in views[:3]] == one_at_a_time[:3]
        assert isinstance(router, PreparesBatch)

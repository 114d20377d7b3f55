"""The escalation timer: periodic sweeps of overdue review items, one sweeper at a
time, the same item never escalated twice, nothing ever applied by default. Time is
a FixedClock moved by the test; nothing here sleeps. The sweeps commit, so every test
gets a database of its own."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cogov.api.app import create_app
from cogov.control import get_proposal, get_workflow
from cogov.control.service import record_config
from cogov.core.clock import FixedClock
from cogov.core.settings import load_settings
from cogov.core.types import Role
from cogov.db.engine import make_engine
from cogov.db.session import session_factory, unit_of_work
from cogov.identity import add_user
from cogov.ledger import LedgerEntry
from cogov.review import repository as review_repository
from cogov.review.models import ReviewItem
from cogov.review.timer import EscalationTimer, escalation_timer, sweep_overdue
from tests.conftest import BACKENDS, fresh_migrated_database
from tests.control.conftest import CONTROL
from tests.review.conftest import BACKUP, GUARDIAN, POLICY, START, file_active_agent
from tests.review.test_concurrency import queue_one


@dataclass
class Desk:
    """A database with an active agent, and a way to queue items due at given times."""

    engine: Engine
    agent: str
    config_hash: str

    def queue(self, *due_in: timedelta) -> list[str]:
        clock = FixedClock(START)
        with unit_of_work(self.engine) as session:
            return [
                queue_one(session, self.agent, self.config_hash, clock, n, deadline=START + due)
                for n, due in enumerate(due_in)
            ]

    def escalations(self) -> list[str]:
        """Item ids of the review.escalated entries, in ledger order."""
        with Session(self.engine) as session:
            payloads = session.scalars(
                select(LedgerEntry.payload)
                .where(LedgerEntry.kind == "review.escalated")
                .order_by(LedgerEntry.seq)
            )
            return [json.loads(payload)["item_id"] for payload in payloads]

    def items(self) -> dict[str, ReviewItem]:
        with Session(self.engine) as session:
            return {row.id: row for row in session.scalars(select(ReviewItem))}


@pytest.fixture(params=BACKENDS)
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    with fresh_migrated_database(request.param, tmp_path) as (_url, engine):
        clock = FixedClock(START)
        with unit_of_work(engine) as session:
            add_user(session, username="admin", roles=[Role.ADMINISTRATOR])
            add_user(session, username="admin2", roles=[Role.ADMINISTRATOR], by="admin")
            for name in (GUARDIAN, BACKUP):
                add_user(session, username=name, roles=[Role.REVIEWER], by="admin")
            agent = file_active_agent(session, clock)
            config_hash = record_config(
                session, config=CONTROL, thresholds={agent: 0.8}, clock=clock
            )
        yield Desk(engine, agent, config_hash)


def assert_never_applied(desk: Desk, item_ids: list[str]) -> None:
    with Session(desk.engine) as session:
        for item_id in item_ids:
            row = session.get(ReviewItem, item_id)
            assert row is not None
            assert row.decision is None
            assert row.state == "queued"
            assert row.escalated_to == BACKUP
            assert get_proposal(session, proposal_id=row.proposal_id).state == "pending_review"
            assert get_workflow(session, case_id=row.case_id).department is None
            entries = session.scalars(
                select(LedgerEntry.kind).where(LedgerEntry.case_id == row.case_id)
            )
            assert "proposal.applied" not in set(entries)


class TestSweepOverdue:
    def test_escalates_what_is_due_in_batches_and_applies_nothing(self, desk: Desk) -> None:
        due = desk.queue(*[timedelta(hours=1)] * 5, timedelta(hours=6))
        clock = FixedClock(START)
        assert sweep_overdue(desk.engine, policy=POLICY, clock=clock).escalated == []
        clock.advance(timedelta(hours=1))
        result = sweep_overdue(desk.engine, policy=POLICY, clock=clock, batch=2)
        assert result.ran
        assert sorted(item.id for item in result.escalated) == sorted(due[:5])
        assert sorted(desk.escalations()) == sorted(due[:5])
        assert_never_applied(desk, due[:5])
        # A second sweep finds them escalated already; the later one is not due yet.
        assert sweep_overdue(desk.engine, policy=POLICY, clock=clock).escalated == []
        assert desk.items()[due[5]].escalated_to is None

    def test_a_sweep_waits_for_nobody_while_another_holds_the_lock(self, desk: Desk) -> None:
        if desk.engine.dialect.name != "postgresql":
            pytest.skip("the sweep lock is PostgreSQL's advisory lock; SQLite has one writer")
        (item,) = desk.queue(timedelta(minutes=5))
        clock = FixedClock(START + timedelta(hours=1))
        other = session_factory(desk.engine)()
        try:
            assert review_repository.try_lock_escalation_sweep(other)
            skipped = sweep_overdue(desk.engine, policy=POLICY, clock=clock)
            assert (skipped.ran, skipped.escalated) == (False, [])
        finally:
            other.rollback()  # the transaction ends: the lock is released
            other.close()
        (escalated,) = sweep_overdue(desk.engine, policy=POLICY, clock=clock).escalated
        assert escalated.id == item
        assert desk.escalations() == [item]

    def test_sweeps_at_once_escalate_each_item_once(self, desk: Desk) -> None:
        due = desk.queue(*[timedelta(minutes=minute) for minute in range(12)])
        clock = FixedClock(START + timedelta(hours=1))
        start = threading.Barrier(4)
        failures: list[BaseException] = []
        done: list[str] = []

        def sweep() -> None:
            try:
                start.wait()
                result = sweep_overdue(desk.engine, policy=POLICY, clock=clock, batch=3)
                done.extend(item.id for item in result.escalated)
            except BaseException as exc:  # surfaced below, in the test's thread
                failures.append(exc)

        threads = [threading.Thread(target=sweep) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert sorted(done) == sorted(due)
        assert sorted(desk.escalations()) == sorted(due)  # one entry per item
        assert_never_applied(desk, due)


class TestEscalationTimer:
    def test_sweeps_at_start_then_every_interval_until_stopped(self, desk: Desk) -> None:
        first, second = desk.queue(timedelta(hours=1), timedelta(hours=3))
        clock = FixedClock(START)
        waits: list[float] = []
        seen: list[list[str]] = []

        async def pause(seconds: float) -> bool:
            """Instead of waiting: note the escalations so far, move the clock on an hour,
            and stop after the fourth sweep."""
            waits.append(seconds)
            seen.append(desk.escalations())
            clock.advance(timedelta(hours=1))
            return len(waits) == 4

        timer = EscalationTimer(desk.engine, interval=3600, policy=POLICY, clock=clock, pause=pause)
        asyncio.run(timer.run())
        assert waits == [3600] * 4
        assert seen == [[], [first], [first], [first, second]]
        assert (timer.sweeps, timer.escalated) == (4, 2)
        assert_never_applied(desk, [first, second])

    def test_a_failing_sweep_is_logged_and_the_timer_goes_on(
        self, desk: Desk, caplog: pytest.LogCaptureFixture
    ) -> None:
        (item,) = desk.queue(timedelta(minutes=5))
        clock = FixedClock(START + timedelta(hours=1))
        broken = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none")  # nothing listens
        ticks: list[float] = []

        async def pause(seconds: float) -> bool:
            ticks.append(seconds)
            timer.engine = desk.engine  # the database is back
            return len(ticks) == 2

        timer = EscalationTimer(broken, interval=30, policy=POLICY, clock=clock, pause=pause)
        asyncio.run(timer.run())
        broken.dispose()
        assert "review escalation sweep failed" in caplog.text
        assert (timer.sweeps, timer.escalated) == (1, 1)
        assert desk.escalations() == [item]

    def test_an_interval_of_zero_starts_nothing(self, desk: Desk) -> None:
        async def run() -> object:
            async with escalation_timer(desk.engine, interval=0, policy=POLICY) as timer:
                return timer

        assert asyncio.run(run()) is None
        with pytest.raises(ValueError, match="interval"):
            EscalationTimer(desk.engine, interval=0, policy=POLICY)


class TestServerRunsTheTimer:
    """`cogov serve`'s application sweeps in the background when the setting is on."""

    def test_an_overdue_item_is_escalated_while_the_app_runs(
        self, desk: Desk, tmp_path: Path
    ) -> None:
        (item,) = desk.queue(timedelta(minutes=5))
        settings = load_settings(data_dir=tmp_path, review_escalation_interval_seconds=3600)
        clock = FixedClock(START + timedelta(hours=1))
        app = create_app(settings, engine=desk.engine, clock=clock, migrate=False)
        with TestClient(app):
            pass  # the timer sweeps at start; leaving the app waits for that sweep
        assert desk.escalations() == [item]
        assert_never_applied(desk, [item])

    def test_off_by_default(self, desk: Desk, tmp_path: Path) -> None:
        desk.queue(timedelta(minutes=5))
        clock = FixedClock(START + timedelta(hours=1))
        app = create_app(load_settings(data_dir=tmp_path), engine=desk.engine, clock=clock,
                         migrate=False)  # fmt: skip
        with TestClient(app):
            pass
        assert desk.escalations() == []
        with Session(desk.engine) as session:
            assert session.scalar(select(func.count()).select_from(ReviewItem)) == 1

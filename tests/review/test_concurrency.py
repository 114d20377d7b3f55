"""Two reviewers claiming at once never get the same item (PostgreSQL, FOR UPDATE
SKIP LOCKED). These tests commit, so they run in a database of their own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cogov.control import MergeRefused, govern
from cogov.control.service import open_workflow, record_config
from cogov.core.clock import FixedClock
from cogov.core.types import Role
from cogov.db.engine import make_engine
from cogov.db.migrate import upgrade
from cogov.db.session import session_factory, unit_of_work
from cogov.identity import add_user
from cogov.intake import CaseRead, submit
from cogov.ledger import LedgerEntry
from cogov.review import (
    AlreadyClaimed,
    AlreadyDecided,
    NothingToClaim,
    add_team_member,
    claim_next,
    decide,
    enqueue,
    merge_case,
)
from cogov.review import repository as review_repository
from cogov.review.models import ReviewClaim, ReviewItem
from tests.conftest import PG_URL, fresh_postgres_database
from tests.control.conftest import CONTROL, INTAKE, make_agent, make_proposal
from tests.review.conftest import BACKUP, GUARDIAN, POLICY, START, TEAM, file_active_agent

pytestmark = pytest.mark.postgres

REVIEWERS = (GUARDIAN, BACKUP, "r.wu", "s.kim")
ITEMS = 24


@dataclass(frozen=True)
class Queue:
    engine: Engine
    item_ids: frozenset[str]
    agent: str
    config_hash: str


def _open_case(session: Session, clock: FixedClock, description: str, address: str) -> CaseRead:
    """A new request, its workflow opened."""
    body = {
        "service_code": "illegal_dumping",
        "description": description,
        "address_string": address,
    }
    case = submit(session, body, config=INTAKE, clock=clock).case
    open_workflow(session, case=case, config=CONTROL, clock=clock)
    return case


def queue_one(
    session: Session,
    agent: str,
    config_hash: str,
    clock: FixedClock,
    number: int,
    deadline: datetime | None = None,
) -> str:
    case = _open_case(session, clock, f"Mattress {number}", f"{number} Main St")
    proposal = govern(
        session,
        case=case,
        agent=make_agent(agent_id=agent, autonomy_level=0, guardian=GUARDIAN),
        proposals=[make_proposal()],
        config=CONTROL,
        config_hash=config_hash,
        clock=clock,
    ).proposals[0]
    return enqueue(
        session,
        case_id=case.id,
        proposal_id=proposal.id,
        agent_id=agent,
        team=TEAM,
        guardian=GUARDIAN,
        backup_guardian=BACKUP,
        reason="suggest only",
        deadline=deadline,
        policy=POLICY,
        clock=clock,
    ).id


@pytest.fixture(scope="module")
def queue() -> Iterator[Queue]:
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set COGOV_TEST_DATABASE_URL to run on it")
    with fresh_postgres_database(PG_URL) as url:
        engine = make_engine(url)
        upgrade(engine)
        clock = FixedClock(START)
        ids: set[str] = set()
        with unit_of_work(engine) as session:
            add_user(session, username="admin", roles=[Role.ADMINISTRATOR])
            add_user(session, username="admin2", roles=[Role.ADMINISTRATOR], by="admin")
            for name in REVIEWERS:
                add_user(session, username=name, roles=[Role.REVIEWER], by="admin")
            agent = file_active_agent(session, clock)
            for name in ("r.wu", "s.kim"):
                add_team_member(session, team=TEAM, username=name, by="admin", clock=clock)
            config_hash = record_config(
                session, config=CONTROL, thresholds={agent: 0.8}, clock=clock
            )
            for number in range(ITEMS):
                ids.add(queue_one(session, agent, config_hash, clock, number))
        yield Queue(engine, frozenset(ids), agent, config_hash)
        engine.dispose()


class TestConcurrentClaims:
    def test_a_locked_item_is_skipped_not_waited_for_or_handed_out_twice(
        self, queue: Queue
    ) -> None:
        factory = session_factory(queue.engine)
        first, second = factory(), factory()
        try:
            now = "2026-11-02T09:00:00.000000Z"
            held = review_repository.next_claimable(
                first, reviewer=GUARDIAN, teams=[], team=None, now=now
            )
            assert held is not None
            # The first transaction holds its row and has not committed: a plain read
            # would still see that item as queued, and FOR UPDATE without SKIP LOCKED
            # would wait. The second reviewer is handed the next item at once.
            other = review_repository.next_claimable(
                second, reviewer=BACKUP, teams=[], team=None, now=now
            )
            assert other is not None
            assert other.id != held.id
            assert other.deadline >= held.deadline
        finally:
            first.rollback()
            second.rollback()
            first.close()
            second.close()

    def test_reviewers_claiming_at_once_share_the_queue_without_overlap(self, queue: Queue) -> None:
        start = threading.Barrier(len(REVIEWERS))
        taken: dict[str, list[str]] = {name: [] for name in REVIEWERS}
        failures: list[BaseException] = []

        def work(reviewer: str) -> None:
            clock = FixedClock(START)
            try:
                start.wait()
                while True:
                    with unit_of_work(queue.engine) as session:
                        try:
                            item = claim_next(
                                session, reviewer=reviewer, policy=POLICY, clock=clock
                            )
                        except NothingToClaim:
                            return
                    taken[reviewer].append(item.id)
            except BaseException as exc:  # surfaced below, in the test's thread
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(name,)) for name in REVIEWERS]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        claimed = [item for items in taken.values() for item in items]
        assert len(claimed) == len(set(claimed)) == ITEMS
        assert set(claimed) == queue.item_ids
        with Session(queue.engine) as session:
            assert session.scalar(select(func.count()).select_from(ReviewClaim)) == ITEMS
            owners = dict(session.execute(select(ReviewItem.id, ReviewItem.claimed_by)).all())
            assert all(owners[item] == name for name, items in taken.items() for item in items)
            claims = session.scalar(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.kind == "review.claimed")
            )
            assert claims == ITEMS

    def test_two_reviewers_deciding_one_item_at_once_decide_it_once(self, queue: Queue) -> None:
        clock = FixedClock(START)
        with unit_of_work(queue.engine) as session:
            item_id = queue_one(session, queue.agent, queue.config_hash, clock, 999)
        start = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def work(reviewer: str) -> None:
            start.wait()
            try:
                with unit_of_work(queue.engine) as session:
                    decide(
                        session,
                        item_id=item_id,
                        reviewer=reviewer,
                        decision="approve",
                        config=CONTROL,
                        policy=POLICY,
                        clock=FixedClock(START),
                    )
                outcomes[reviewer] = "decided"
            except (AlreadyDecided, AlreadyClaimed) as exc:
                outcomes[reviewer] = type(exc).__name__
            except BaseException as exc:  # surfaced below
                outcomes[reviewer] = repr(exc)

        threads = [threading.Thread(target=work, args=(name,)) for name in (GUARDIAN, BACKUP)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes.values()) in (
            ["AlreadyDecided", "decided"],
            ["AlreadyClaimed", "decided"],
        ), outcomes
        with Session(queue.engine) as session:
            item = session.get(ReviewItem, item_id)
            assert item is not None
            decided = session.scalars(
                select(LedgerEntry.payload).where(LedgerEntry.kind == "review.decided")
            ).all()
            assert sum(item_id in payload for payload in decided) == 1
            applied = session.scalars(
                select(LedgerEntry.payload).where(LedgerEntry.kind == "proposal.applied")
            ).all()
            assert sum(f'"{item.proposal_id}"' in payload for payload in applied) == 1


class TestCrossingMerges:
    def test_the_second_of_two_crossing_merges_waits_and_is_refused(self, queue: Queue) -> None:
        """A into B and, at the same moment, B into A: both rows are locked in one
        order, so the second waits for the first, then sees B merged and refuses."""
        clock = FixedClock(START)
        with unit_of_work(queue.engine) as session:
            a = _open_case(session, clock, "Sofa 901", "901 High St").id
            b = _open_case(session, clock, "Sofa 902", "902 High St").id
        factory = session_factory(queue.engine)
        holder = factory()
        outcome: list[BaseException | str] = []

        def merge_back() -> None:
            try:
                with unit_of_work(queue.engine) as session:
                    merge_case(session, case_id=b, into=a, reviewer="s.kim", config=CONTROL)
                outcome.append("merged")
            except BaseException as exc:
                outcome.append(exc)

        try:
            merge_case(holder, case_id=a, into=b, reviewer="r.wu", config=CONTROL)
            waiter = threading.Thread(target=merge_back)
            waiter.start()
            waiter.join(timeout=0.5)
            assert waiter.is_alive()  # it waits for the holder's row locks
            holder.commit()
        finally:
            holder.close()
        waiter.join(timeout=60)
        [refused] = outcome
        assert isinstance(refused, MergeRefused), refused
        assert (refused.problem, refused.other) == ("merged", b)

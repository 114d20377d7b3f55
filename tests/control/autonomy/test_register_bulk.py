"""The public register reads every active agent at once, on SQLite and PostgreSQL: a
fixed number of SQL statements however many agents there are, and for each agent the
same entry as the per-agent reads give (the registry's own reads of one agent, and
``public_standing``, which reads one agent's autonomy the controller's way), with the
window counts equal to a recount from the stored rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from cogov.control import govern
from cogov.control.autonomy import (
    evaluate,
    lower_level,
    public_standing,
    raise_level,
    register_with_autonomy,
    repository,
)
from cogov.control.service import open_workflow, record_config
from cogov.core.clock import FixedClock, iso_utc
from cogov.core.types import Role
from cogov.identity import add_user, disable_user
from cogov.intake import submit as submit_request
from cogov.registry import (
    activate,
    active_periods,
    assign_guardians,
    file_agent,
    get_agent,
    get_filing,
    guardian_problems,
    parse_filing,
    pause_agent,
    public_register,
    suspend,
)
from tests.control.autonomy.test_standing import recount
from tests.control.conftest import CONTROL, INTAKE, make_agent, make_proposal
from tests.registry.conftest import filing_data
from tests.review.conftest import GUARDIAN, file_active_agent, quiet_policy

# Judges small windows and never lowers; a window of at most 5 proposals, so an agent
# with more shows that each agent's window is cut at its own latest five.
POLICY = quiet_policy(
    initial_level=1,
    window_decisions=5,
    min_decisions=3,
    min_group_size=2,
    max_override_rate=1.0,
    max_upheld_appeal_rate=1.0,
    max_negative_list_rate=1.0,
    max_group_gap=1.0,
)


def propose(
    session: Session,
    clock: FixedClock,
    agent_id: str,
    *,
    count: int,
    level: int,
    group: str,
    confidence: float = 0.95,
) -> None:
    """``count`` cases, each with one routing proposal by ``agent_id`` at ``level``."""
    config_hash = record_config(session, config=CONTROL, thresholds={agent_id: 0.8}, clock=clock)
    for _ in range(count):
        body = {
            "service_code": "illegal_dumping",
            "description": "Mattress dumped on the kerb",
            "address_string": "12 Main St",
            "group": {"age_band": group},
        }
        submission = submit_request(session, body, config=INTAKE, clock=clock)
        open_workflow(session, case=submission.case, config=CONTROL, clock=clock)
        govern(
            session,
            case=submission.case,
            agent=make_agent(agent_id=agent_id, autonomy_level=level, guardian=GUARDIAN),
            proposals=[make_proposal("route", "Sanitation", confidence)],
            config=CONTROL,
            config_hash=config_hash,
            clock=clock,
        )


def add_staff(session: Session) -> None:
    add_user(session, username="admin", roles=[Role.ADMINISTRATOR])
    add_user(session, username="admin2", roles=[Role.ADMINISTRATOR], by="admin")
    for name in (GUARDIAN, "m.lopez", "r.wu", "s.kim"):
        add_user(session, username=name, roles=[Role.REVIEWER], by="admin")


def add_agents(session: Session, clock: FixedClock, numbers: range) -> list[str]:
    """Active agents ``agent-<n>``, each in a different state (by ``n`` modulo 6)."""
    made = []
    for n in numbers:
        agent_id = f"agent-{n}"
        kind = n % 6
        file_active_agent(session, clock, grade="II" if kind == 1 else "I", agent_id=agent_id)
        clock.advance(timedelta(minutes=1))
        if kind == 1:  # raised by its guardian, then proposals at the new level
            raise_level(session, agent_id=agent_id, to_level=2, by=GUARDIAN,
                        reason="clean month", policy=POLICY, clock=clock)  # fmt: skip
        elif kind == 2:  # lowered by hand after some proposals
            propose(session, clock, agent_id, count=2, level=1, group="18_34")
            clock.advance(timedelta(minutes=1))
            lower_level(session, agent_id=agent_id, to_level=0, by="admin",
                        reason="complaints", policy=POLICY, clock=clock)  # fmt: skip
        elif kind == 3:  # evaluated (a stored row, never changed) and paused
            evaluate(session, agent_id=agent_id, policy=POLICY, clock=clock)
            pause_agent(session, agent_id=agent_id, by="admin", reason="checking", clock=clock)
        elif kind == 4:  # suspended and active again: a second active period
            suspend(session, agent_id=agent_id, by="admin", reason="audit", clock=clock)
            clock.advance(timedelta(minutes=1))
            activate(session, agent_id=agent_id, by="admin", reason="audit done", clock=clock)
        elif kind == 5:  # its backup guardian is disabled: no guardian pair on duty
            assign_guardians(session, agent_id=agent_id, guardian="r.wu", backup_guardian="s.kim",
                             by="admin", reason="new team", clock=clock)  # fmt: skip
        clock.advance(timedelta(minutes=1))
        # More proposals than the window holds for some, with two groups; the clock stands
        # still, so the window's cut falls among proposals made at the same moment.
        # (agent-2's three after its change leave room in its window for the two before)
        propose(session, clock, agent_id, count=1 if kind == 2 else 2 + n % 5, level=3,
                group="18_34")  # fmt: skip
        propose(session, clock, agent_id, count=2, level=3, confidence=0.5, group="65_plus")
        made.append(agent_id)
    if any(n % 6 == 5 for n in numbers):
        disable_user(session, username="s.kim", by="admin", reason="left", clock=clock)
    clock.advance(timedelta(minutes=1))
    return made


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """The SQL statements sent on the session's connection inside the block."""
    seen: list[str] = []

    def count(_conn: Connection, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)


class TestStatementCount:
    def test_it_does_not_grow_with_the_number_of_agents(
        self, db_session: Session, clock: FixedClock
    ) -> None:
        add_staff(db_session)
        add_agents(db_session, clock, range(2))
        db_session.flush()
        with statements(db_session) as two:
            entries = register_with_autonomy(db_session, policy=POLICY, clock=clock)
        assert len(entries) == 2
        add_agents(db_session, clock, range(2, 6))
        db_session.flush()
        with statements(db_session) as six:
            entries = register_with_autonomy(db_session, policy=POLICY, clock=clock)
        assert len(entries) == 6
        assert len(six) == len(two), (len(two), len(six))
        assert len(two) <= 10  # 7 now: agents and filings, steps, users (2), levels, changes,
        # windows; before it was 1 + 11 per agent (23 for 2 agents, 67 for 6)
        with statements(db_session) as one:
            found = register_with_autonomy(
                db_session, policy=POLICY, clock=clock, agent_id="agent-4"
            )
        assert [entry.agent_id for entry in found] == ["agent-4"]
        assert len(one) <= len(six)

    def test_agents_split_over_several_statements_read_the_same(
        self, db_session: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        add_staff(db_session)
        add_agents(db_session, clock, range(5))
        whole = register_with_autonomy(db_session, policy=POLICY, clock=clock)
        monkeypatch.setattr(repository, "WINDOWS_PER_STATEMENT", 2)
        with statements(db_session) as seen:
            split = register_with_autonomy(db_session, policy=POLICY, clock=clock)
        assert split == whole
        assert sum("UNION ALL" in sql for sql in seen) == 2  # 2 + 2 agents, then 1 alone


class TestSameAsPerAgent:
    def test_every_entry_equals_the_per_agent_reads_and_a_recount(
        self, db_session: Session, clock: FixedClock
    ) -> None:
        add_staff(db_session)
        agents = add_agents(db_session, clock, range(7))
        # A filed agent that is not active stays out of the register.
        file_agent(db_session, document=parse_filing(filing_data(agent_id="draft-agent")),
                   by="admin", clock=clock)  # fmt: skip
        entries = register_with_autonomy(db_session, policy=POLICY, clock=clock)
        assert [entry.agent_id for entry in entries] == sorted(agents)
        assert [entry.model_dump() for entry in public_register(db_session)] == [
            entry.model_dump(exclude={"autonomy"}) for entry in entries
        ]
        seen_states = set()
        for entry in entries:
            agent = get_agent(db_session, agent_id=entry.agent_id)
            assert agent.active_version is not None
            filing = get_filing(db_session, agent_id=entry.agent_id, version=agent.active_version)
            periods = active_periods(db_session, agent_id=entry.agent_id)
            on_duty = not guardian_problems(
                db_session, guardian=agent.guardian, backup=agent.backup_guardian
            )
            assert (entry.version, entry.grade, entry.name, entry.services) == (
                filing.version,
                filing.grade,
                filing.document.name,
                filing.document.services,
            )
            assert (entry.paused, entry.has_guardian_on_duty) == (agent.paused, on_duty)
            assert entry.active_since == periods[-1].active_from
            seen_states.add((entry.paused, entry.has_guardian_on_duty, len(periods)))

            one = public_standing(db_session, agent_id=entry.agent_id, policy=POLICY, clock=clock)
            assert entry.autonomy == one
            [alone] = register_with_autonomy(
                db_session, policy=POLICY, clock=clock, agent_id=entry.agent_id
            )
            assert alone == entry

            changed = one.last_change.changed_at if one.last_change else None
            counted = recount(db_session, entry.agent_id, since=changed, now=clock.now(),
                              policy=POLICY)  # fmt: skip
            window = entry.autonomy.window
            assert window.proposals == counted["proposals"]
            if window.enough:
                assert window.applied_without_person == counted["applied"]
                assert window.negative_list_hits == counted["hits"]
            assert window.until == iso_utc(clock.now())
        # The agents differ where the register can tell them apart.
        assert {(True, True, 1), (False, False, 1), (False, True, 2)} <= seen_states
        levels = {(e.autonomy.level, e.autonomy.last_change is not None) for e in entries}
        assert {(1, False), (2, True), (0, True)} <= levels
        assert {e.autonomy.window.proposals for e in entries} >= {4, 5}

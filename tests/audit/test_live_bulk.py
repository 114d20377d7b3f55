"""The live frame and the period's responsibility reports read in bulk (a few
queries for the whole period) equal the straightforward per-case reading they
replaced, on cases walked through the real intake, control and review paths.
Ids are bound in batches of two here, so every bulk read spans several batches."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy.orm import Session

from cogov.audit.frame import CaseFrame
from cogov.audit.live import (
    FRAME_KINDS,
    case_row,
    cases_in_period,
    frame_from_database,
    frame_of_rows,
)
from cogov.audit.responsibility import responsibility_for_case, responsibility_for_period
from cogov.control import (
    WorkflowNotFound,
    get_workflow,
    proposals_for_case,
    proposals_for_cases,
    workflows_for_cases,
)
from cogov.control.service import open_workflow
from cogov.core.clock import FixedClock
from cogov.db import batches
from cogov.intake import cases_by_ids, get_case, submit
from cogov.ledger import entries_for_case, entries_for_cases
from tests.audit.test_live import BODY, CONTROL, INTAKE, T0, walk


@pytest.fixture
def period(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(batches, "ID_BATCH", 2)
    cases = walk(db_session)
    clock = FixedClock(T0)
    # A case only received (no workflow yet), and one opened but not yet proposed on.
    cases["received"] = submit(
        db_session, {**BODY, "language": "es"}, config=INTAKE, clock=clock
    ).case.id
    opened = submit(db_session, BODY, config=INTAKE, clock=clock).case
    open_workflow(db_session, case=opened, config=CONTROL, clock=clock)
    cases["opened"] = opened.id
    return cases


def per_case_frame(session: Session) -> CaseFrame:
    """The reference: every case's workflow, proposals and whole ledger trail read
    one case at a time, as frame_from_database did before it read in bulk."""
    rows = []
    for case in cases_in_period(session, None, None):
        try:
            workflow = get_workflow(session, case_id=case.id)
        except WorkflowNotFound:
            workflow = None
        rows.append(
            case_row(
                case,
                workflow,
                proposals_for_case(session, case_id=case.id),
                entries_for_case(session, case.id),
            )
        )
    return frame_of_rows(rows)


class TestBulkFrame:
    def test_equals_the_per_case_reading(self, db_session: Session, period: dict[str, str]) -> None:
        bulk = frame_from_database(db_session)
        reference = per_case_frame(db_session)
        assert bulk.data.height == len(period) == 5
        assert bulk.data.schema == reference.data.schema
        assert bulk.data.equals(reference.data)
        assert (bulk.groups, bulk.provided, bulk.source) == (
            reference.groups,
            reference.provided,
            reference.source,
        )
        rows = {row["case_id"]: row for row in bulk.data.iter_rows(named=True)}
        assert rows[period["received"]]["final_route"] is None
        assert rows[period["opened"]]["handled_without_human"] is None

    def test_bulk_reads_match_the_per_case_reads(
        self, db_session: Session, period: dict[str, str]
    ) -> None:
        ids = [*period.values(), "no-such-case", period["alone"]]
        proposals = proposals_for_cases(db_session, case_ids=ids)
        entries = entries_for_cases(db_session, ids)
        framed = entries_for_cases(db_session, ids, kinds=FRAME_KINDS)
        workflows = workflows_for_cases(db_session, case_ids=ids)
        for case_id in period.values():
            assert proposals[case_id] == proposals_for_case(db_session, case_id=case_id)
            assert entries[case_id] == entries_for_case(db_session, case_id)
            assert framed[case_id] == [e for e in entries[case_id] if e.kind in FRAME_KINDS]
        assert proposals["no-such-case"] == []
        assert entries["no-such-case"] == []
        assert set(workflows) == set(period.values()) - {period["received"]}
        assert workflows[period["alone"]] == get_workflow(db_session, case_id=period["alone"])
        found = cases_by_ids(db_session, case_ids=ids)
        assert set(found) == set(period.values())
        assert found[period["corrected"]] == get_case(db_session, case_id=period["corrected"])


def test_period_responsibility_equals_the_per_case_reports(
    db_session: Session, period: dict[str, str]
) -> None:
    shares = {"age_band": {"65_plus": 0.01}}
    bulk = responsibility_for_period(db_session, training_group_shares=shares)
    frame = frame_from_database(db_session)
    suspects = frame.data.filter(pl.col("overridden") | pl.col("appeal_upheld"))
    reference = [
        report
        for case_id in suspects.get_column("case_id").to_list()
        for report in responsibility_for_case(
            db_session, case_id=case_id, training_group_shares=shares
        )
        if report.facts.wrong
    ]
    assert [r.as_dict() for r in bulk] == [r.as_dict() for r in reference]
    assert {r.facts.case_id for r in bulk} == {period["corrected"], period["appealed"]}
    assert any(f.rule == "data.thin_group" for r in bulk for f in r.findings)

"""Efficiency measures on a hand-built set of cases whose answers are known."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from cogov.audit import BadInput, OnTimeRule, case_frame, derive, efficiency

T0 = datetime(2024, 5, 1, 8, 0)


def cases() -> list[dict[str, object]]:
    h = timedelta(hours=1)
    return [
        # routed after 1h, answered after 2h, closed after 10h, due at 24h: on time
        {
            "case_id": "a",
            "created_at": T0,
            "routed_at": T0 + h,
            "first_response_at": T0 + 2 * h,
            "closed_at": T0 + 10 * h,
            "due_at": T0 + 24 * h,
            "service": "noise",
            "agent": "r1",
            "handled_without_human": True,
            "overridden": False,
            "proposed_route": "NYPD",
            "final_route": "NYPD",
            "draft_seconds": 30.0,
            "appealed": False,
        },
        # closed late
        {
            "case_id": "b",
            "created_at": T0,
            "routed_at": T0 + 3 * h,
            "closed_at": T0 + 30 * h,
            "due_at": T0 + 24 * h,
            "service": "noise",
            "agent": "r1",
            "handled_without_human": False,
            "overridden": True,
            "proposed_route": "DSNY",
            "final_route": "NYPD",
            "draft_seconds": 50.0,
            "appealed": True,
            "appeal_upheld": True,
        },
        # still open, due date passed by the as-of time: late
        {
            "case_id": "c",
            "created_at": T0,
            "due_at": T0 + 5 * h,
            "service": "heat",
            "agent": "r2",
            "duplicate_of": "a",
            "appealed": False,
        },
        # still open, not due yet: not judged
        {
            "case_id": "d",
            "created_at": T0 + 40 * h,
            "due_at": T0 + 100 * h,
            "service": "heat",
            "agent": "r2",
            "appealed": True,
            "appeal_upheld": False,
        },
    ]


class TestOverall:
    def test_every_measure(self) -> None:
        derived = derive(case_frame(cases()), OnTimeRule(as_of=T0 + 48 * timedelta(hours=1)))
        row = efficiency(derived).overall.row(0, named=True)
        assert row["cases"] == 4
        assert row["median_hours_to_route"] == pytest.approx(2.0)
        assert row["median_hours_to_first_response"] == pytest.approx(2.0)
        assert row["median_hours_to_close"] == pytest.approx(20.0)
        assert row["open_share"] == pytest.approx(0.5)
        assert row["on_time_judged"] == 3
        assert row["on_time_rate"] == pytest.approx(1 / 3)
        assert row["repeat_rate"] == pytest.approx(0.25)
        assert row["without_human_share"] == pytest.approx(0.5)
        assert row["override_rate"] == pytest.approx(0.5)
        assert row["routing_accuracy"] == pytest.approx(0.5)
        assert row["appeal_rate"] == pytest.approx(0.5)
        assert row["upheld_appeal_rate"] == pytest.approx(0.25)
        assert row["median_draft_seconds"] == pytest.approx(40.0)

    def test_service_targets_stand_in_for_missing_due_dates(self) -> None:
        rows = [{k: v for k, v in case.items() if k != "due_at"} for case in cases()]
        rule = OnTimeRule(targets={"noise": 12}, default_hours=1000, as_of=T0 + timedelta(hours=48))
        derived = derive(case_frame(rows), rule)
        on_time = dict(derived.select("case_id", "on_time").iter_rows())
        assert on_time == {"a": True, "b": False, "c": None, "d": None}

    def test_no_source_for_a_measure_gives_null_not_zero(self) -> None:
        derived = derive(case_frame([{"created_at": T0}, {"created_at": T0}]))
        row = efficiency(derived).overall.row(0, named=True)
        assert row["repeat_rate"] is None
        assert row["on_time_rate"] is None
        assert row["override_rate"] is None

    def test_a_close_before_the_open_is_not_a_negative_duration(self) -> None:
        derived = derive(case_frame([{"created_at": T0, "closed_at": T0 - timedelta(hours=1)}]))
        assert derived.get_column("hours_to_close").to_list() == [None]


class TestBreakdowns:
    def test_by_agent_service_and_period(self) -> None:
        result = efficiency(derive(case_frame(cases())), period="day")
        assert set(result.by) == {"agent", "service", "period"}
        by_service = dict(result.by["service"].select("service", "cases").iter_rows())
        assert by_service == {"noise": 2, "heat": 2}
        periods = result.by["period"].select("period", "cases").rows()
        assert [cases for _, cases in periods] == [3, 1]

    def test_unknown_period(self) -> None:
        with pytest.raises(BadInput, match="--period"):
            efficiency(derive(case_frame(cases())), period="fortnight")  # type: ignore[arg-type]


def test_frame_keeps_documented_types() -> None:
    frame = case_frame(cases())
    assert frame.data.schema["created_at"] == pl.Datetime("us")
    assert frame.data.schema["handled_without_human"] == pl.Boolean


def test_routing_per_route_recall_and_precision() -> None:
    rows = [
        {"created_at": T0, "proposed_route": p, "final_route": f}
        for p, f in [("A", "A"), ("A", "B"), ("B", "B"), ("B", "B"), ("C", "B"), ("A", "A")]
    ]
    routes = efficiency(derive(case_frame(rows))).routes
    table = {row["route"]: row for row in routes.iter_rows(named=True)}
    assert table["B"]["final_cases"] == 4
    assert table["B"]["recall"] == pytest.approx(0.5)
    assert table["A"]["precision"] == pytest.approx(2 / 3)
    assert table["C"]["final_cases"] == 0
    assert table["C"]["precision"] == pytest.approx(0.0)

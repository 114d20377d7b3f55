"""The whole audit and its outputs: plain dicts, JSON, CSV and a self-contained
HTML report an auditor can hand on."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from cogov.audit import (
    AuditOptions,
    CaseFrame,
    FairnessOptions,
    population_table,
    run_audit,
    write_outputs,
)
from cogov.audit.errors import BadInput
from cogov.audit.frame import OnTimeRule, within
from cogov.audit.html import render_html
from cogov.audit.report import AuditReport
from cogov.core.clock import FixedClock

from .conftest import GROUP_SIZES


@pytest.fixture(scope="module")
def report(frame: CaseFrame) -> AuditReport:
    from datetime import UTC, datetime

    people = population_table(
        pl.DataFrame(
            {"area": list(GROUP_SIZES), "population": [90_000, 60_000, 50_000, 40_000, 30_000]}
        )
    )
    return run_audit(
        frame,
        options=AuditOptions(fairness=FairnessOptions(replicates=200)),
        population=people,
        clock=FixedClock(datetime(2025, 1, 2, tzinfo=UTC)),
    )


class TestReport:
    def test_plain_dict_is_json_and_complete(self, report: AuditReport) -> None:
        data = report.to_dict()
        text = json.dumps(data, allow_nan=False)
        assert json.loads(text)["cases"] == sum(GROUP_SIZES.values())
        assert data["generated_at"] == "2025-01-02T00:00:00.000000Z"
        assert [item["group"] for item in data["fairness"]] == [
            "district",
            "channel",
            "district*age_band",
        ]
        assert set(data["efficiency"]["by"]) == {"service", "agent", "channel", "period"}
        assert data["coverage"]["possibly_unreached"][0]["area"] == "harbour"
        assert set(data["metrics_with_data"]) >= {
            "on_time_rate",
            "override_rate",
            "routing_accuracy",
        }

    def test_outputs_are_written(self, report: AuditReport, tmp_path: Path) -> None:
        written = {path.name for path in write_outputs(report, tmp_path)}
        assert {
            "audit.json",
            "report.html",
            "efficiency_overall.csv",
            "fairness_district.csv",
            "fairness_district_age_band.csv",
            "coverage.csv",
            "coverage_unmatched.csv",
        } <= written
        table = pl.read_csv(tmp_path / "fairness_district.csv")
        assert {"group", "metric", "value", "disparity", "disparity_ci_low", "flagged"} <= set(
            table.columns
        )


class TestHtml:
    def test_self_contained_with_charts_and_table_alternatives(self, report: AuditReport) -> None:
        html = render_html(report)
        assert not re.search(r"https?://", html)
        assert "<script" not in html
        assert "<link" not in html
        assert "<img" not in html
        assert html.count("<svg") >= 10
        # Every chart is labelled for screen readers and has a table with the same numbers.
        assert html.count('role="img"') == html.count("<svg")
        assert html.count("<desc id=") == html.count("<svg")
        assert html.count("<table>") >= html.count("<svg")
        assert "too few cases to judge" in html
        assert "harbour" in html
        assert "⚑" in html

    def test_group_names_are_escaped(self, frame: CaseFrame) -> None:
        evil = frame.data.with_columns(pl.lit("<b>x</b>").alias("district"))
        html = render_html(run_audit(CaseFrame(evil, ("district",), "t", frame.provided)))
        assert "<b>x</b>" not in html
        assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_an_unknown_group_column_is_named_with_the_columns(frame: CaseFrame) -> None:
    from cogov.audit import MissingColumn

    with pytest.raises(
        MissingColumn, match=r"--group: column 'ward' is not in fixed; available columns: 'case_id'"
    ):
        run_audit(frame, options=AuditOptions(groups=("district*ward",)))


class TestOptionsOutOfRange:
    """A number out of range is refused naming its flag, even where the audit would
    not have used it (no population: no coverage), so nothing wrong is accepted."""

    @pytest.mark.parametrize("fraction", [0.0, -3.0, 1.0, 1e308, float("nan")])
    def test_coverage_fraction(self, fraction: float) -> None:
        with pytest.raises(BadInput, match=r"^--coverage-fraction: must be between 0 and 1$"):
            AuditOptions(coverage_fraction=fraction)

    @pytest.mark.parametrize("hours", [0.0, -1.0, float("inf"), float("nan")])
    def test_target_hours(self, hours: float) -> None:
        with pytest.raises(BadInput, match=r"^--target-hours: must be a positive number"):
            OnTimeRule(default_hours=hours)

    def test_a_period_that_ends_before_it_starts(self, frame: CaseFrame) -> None:
        with pytest.raises(BadInput, match=r"^--from: 2025-01-01T00:00:00 is after --to 2024"):
            within(frame, datetime(2025, 1, 1), datetime(2024, 1, 1, tzinfo=UTC))
        within(frame, datetime(2024, 1, 1), datetime(2024, 1, 1))  # one instant is a period

"""Audits of real open data (../shared/data): every preset reads its file, and
the numbers agree with what the source says about itself."""

from __future__ import annotations

import polars as pl
import pytest

from cogov.audit import (
    AuditOptions,
    FairnessOptions,
    preset,
    read_cases,
    read_population,
    run_audit,
)
from tests.conftest import shared_data

pytestmark = pytest.mark.realdata
QUICK = AuditOptions(fairness=FairnessOptions(replicates=100))


def test_nyc311_with_community_district_population() -> None:
    frame = read_cases(shared_data("nyc311_2018-10-21/311_sample.csv"), preset("nyc311").columns)
    people = read_population(
        shared_data("nyc_demographics/community_district_acs2023.csv"), "unit_id", "population"
    )
    report = run_audit(frame, options=QUICK, population=people)
    assert report.cases == 6765
    overall = report.efficiency.overall.row(0, named=True)
    # SOURCE.txt: 2,441 rows have a Closed Date.
    assert overall["open_share"] == pytest.approx(1 - 2441 / 6765)
    assert report.coverage is not None
    table = report.coverage.table
    # "04 BRONX" in 311 joins "BRONX 04" in the ACS table: all 51 districts are there.
    assert table.height == 51
    assert table.filter(pl.col("requests") > 0).height == 51
    channels = report.coverage.overall_channels.get_column("channel").to_list()
    assert set(channels) >= {"PHONE", "ONLINE", "MOBILE"}
    by_channel = next(result for result in report.fairness if result.group == "channel")
    assert set(by_channel.table.get_column("group")) >= {"PHONE", "ONLINE", "MOBILE", "UNKNOWN"}


def test_baltimore_on_time_against_due_dates() -> None:
    frame = read_cases(
        shared_data("baltimore311_sample/311_sample.csv"), preset("baltimore311").columns
    )
    report = run_audit(frame, options=QUICK)
    overall = report.efficiency.overall.row(0, named=True)
    # SOURCE.txt counts 7,988 on time and 1,567 late among closed cases with a due date.
    closed_judged = frame.data.filter(
        pl.col("closed_at").is_not_null() & pl.col("due_at").is_not_null()
    )
    on_time = closed_judged.filter(pl.col("closed_at") <= pl.col("due_at")).height
    assert (on_time, closed_judged.height - on_time) == (7988, 1567)
    assert overall["on_time_judged"] >= 7988 + 1567
    assert {result.group for result in report.fairness} == {"CouncilDistrict", "channel"}


def test_la311_with_neighbourhood_council_population() -> None:
    frame = read_cases(
        shared_data("la311_2017-12/MyLA311_Service_Request_Data_2017_Subset.csv"),
        preset("la311").columns,
    )
    people = read_population(
        shared_data("la_neighborhood_council_population/NC_pop_2020.csv"),
        "council_name",
        "sum_pop20",
    )
    report = run_audit(frame, options=QUICK, population=people)
    assert report.coverage is not None
    matched = report.coverage.table.get_column("requests").sum()
    unmatched = report.coverage.unmatched.get_column("requests").sum()
    # Almost every request finds its council after normalisation ("ARLETA NC" = "Arleta").
    assert matched / (matched + unmatched) > 0.95
    unreached = report.coverage.table.filter(pl.col("possibly_unreached"))
    assert unreached.height >= 1


def test_cfpb_older_american_as_a_group_and_timely_response_as_on_time() -> None:
    frame = read_cases(shared_data("cfpb_complaints/complaints_part_a.csv"), preset("cfpb").columns)
    report = run_audit(
        frame,
        options=AuditOptions(fairness=FairnessOptions(reference="Older American", replicates=100)),
    )
    tags = next(result for result in report.fairness if result.group == "Tags")
    on_time = tags.table.filter(pl.col("metric") == "on_time_rate")
    assert set(on_time.get_column("reference")) == {"Older American"}
    raw = pl.read_csv(shared_data("cfpb_complaints/complaints_part_a.csv"), infer_schema=False)
    older = raw.filter(pl.col("Tags") == "Older American")
    expected = older.filter(pl.col("Timely response?") == "Yes").height / older.height
    row = on_time.filter(pl.col("group") == "Older American").row(0, named=True)
    assert row["value"] == pytest.approx(expected)


def test_nyc_council_two_group_columns() -> None:
    frame = read_cases(
        shared_data("nyc_council_constituent_services/nycomplaints.parquet"),
        preset("nyc-council").columns,
    )
    report = run_audit(frame, options=QUICK)
    assert report.cases == 341_299
    assert [result.group for result in report.fairness] == ["borough", "council_dist"]
    overall = report.efficiency.overall.row(0, named=True)
    assert overall["open_share"] == pytest.approx(1 - 327_157 / 341_299)


def test_sf311_zoned_times_and_channels() -> None:
    frame = read_cases(shared_data("sf311_sample/sf311.csv"), preset("sf311").columns)
    assert frame.rows == 10_000
    # SOURCE.txt: 9,637 closed; created 2008-07-01 .. 2019-11-11 (times with +00:00).
    assert frame.data.get_column("closed_at").drop_nulls().len() == 9637
    assert frame.data.get_column("created_at").min().year == 2008  # type: ignore[union-attr]
    report = run_audit(frame, options=QUICK)
    channel = next(result for result in report.fairness if result.group == "channel")
    assert {"Phone", "Web"} <= set(channel.table.get_column("group"))

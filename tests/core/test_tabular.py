"""The one table reader (cogov.core.tabular) that triage, audit and the pipeline share:
its checks and errors on small hand-written files, and a cross-check on the real
exports in ../shared/data that it reads exactly what the three readers it replaced
read (Polars' eager CSV reader with every column as text, and Python's strptime
with each export's own date format)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from cogov.core.errors import CogovError, ValidationFailed
from cogov.core.tabular import (
    PRESETS,
    TIME,
    Preset,
    check_file,
    guess_time_format,
    load_presets,
    parse_times,
    preset,
    read_table,
    scan_table,
)
from tests.conftest import shared_data

REAL = {
    "nyc311": "nyc311_2018-10-21/311_sample.csv",
    "sf311": "sf311_sample/sf311.csv",
    "cfpb": "cfpb_complaints/complaints_part_a.csv",
    "baltimore311": "baltimore311_sample/311_sample.csv",
    "la311": "la311_2017-12/MyLA311_Service_Request_Data_2017_Subset.csv",
    "nyc-council": "nyc_council_constituent_services/nycomplaints.parquet",
}
# How each export writes its creation time, read one value at a time by Python.
PYTHON_FORMATS = {
    "nyc311": "%m/%d/%y %H:%M",
    "sf311": "%Y-%m-%d %H:%M:%S UTC",
    "cfpb": "%Y-%m-%d",
    "baltimore311": "%m/%d/%Y %I:%M:%S %p",
    "la311": "%m/%d/%Y %I:%M:%S %p",
}


class Refused(CogovError):
    """A caller's own error class, to check the reader raises what it is given."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


def eager_text(path: Path) -> pl.DataFrame:
    """How the replaced eager reader read a file: every column as text."""
    if path.suffix == ".parquet":
        return pl.read_parquet(path).select(pl.all().cast(pl.String))
    frame = pl.read_csv(path, infer_schema_length=0, encoding="utf8-lossy")
    return frame.rename({name: name.lstrip("\ufeff").strip() for name in frame.columns})


def python_times(values: list[str | None], fmt: str) -> list[datetime | None]:
    return [datetime.strptime(value.strip(), fmt) if value else None for value in values]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.realdata
class TestSameFramesOnTheRealExports:
    @pytest.mark.parametrize("name", sorted(REAL))
    def test_every_column_as_the_eager_reader_read_it(self, name: str) -> None:
        path = shared_data(REAL[name])
        assert_frame_equal(read_table(path), eager_text(path))
        lazy = scan_table(path).select(pl.all().cast(pl.String)).collect()
        assert_frame_equal(lazy, eager_text(path))

    @pytest.mark.parametrize("name", sorted(PYTHON_FORMATS))
    def test_preset_times_as_python_reads_them(self, name: str) -> None:
        source = PRESETS[name]
        column = read_table(shared_data(REAL[name]))[source.created]
        expected = pl.Series(
            source.created, python_times(column.to_list(), PYTHON_FORMATS[name]), dtype=TIME
        )
        assert expected.null_count() == 0
        assert_series_equal(parse_times(column, source.time_formats), expected)
        # The audit's reading (no format named: the best known one on a sample) agrees.
        assert_series_equal(parse_times(column), expected)

    def test_a_parquet_date_column_is_read_as_midnight(self) -> None:
        source = PRESETS["nyc-council"]
        table = pl.read_parquet(shared_data(REAL["nyc-council"]), columns=[source.created])
        times = parse_times(table[source.created])
        assert times.dtype == TIME
        assert times.null_count() == table[source.created].null_count()
        assert (times.dt.hour() == 0).all()

    @pytest.mark.parametrize("name", sorted(REAL))
    def test_every_preset_column_is_in_its_export(self, name: str) -> None:
        source = PRESETS[name]
        names = set(scan_table(shared_data(REAL[name])).collect_schema().names())
        named = {
            value
            for key in Preset.__dataclass_fields__
            if key not in ("name", "description", "time_formats", "duplicate_pattern", "notes")
            for value in (
                getattr(source, key) if isinstance(getattr(source, key), tuple) else
                (getattr(source, key),)
            )
            if value is not None
        }  # fmt: skip
        case_columns = {"channel", "service"}  # groups may name the preset's case columns
        assert named - case_columns <= names


ROWS = {"id": ["007", "12"], "opened": ["10/21/18 0:05", "10/21/18 13:30"], "what": ["a", ""]}


class TestSmallFiles:
    def test_csv_tsv_and_parquet_read_the_same(self, tmp_path: Path) -> None:
        expected = pl.DataFrame(ROWS).with_columns(pl.col("what").replace("", None))
        csv = write(
            tmp_path, "h.csv", "\ufeff id ,opened,what\n007,10/21/18 0:05,a\n12,10/21/18 13:30,\n"
        )
        tsv = write(
            tmp_path, "h.tsv", "id\topened\twhat\n007\t10/21/18 0:05\ta\n12\t10/21/18 13:30\t\n"
        )
        parquet = tmp_path / "h.parquet"
        expected.write_parquet(parquet)
        for path in (csv, tsv, parquet):
            assert_frame_equal(read_table(path), expected)  # ids like 007 stay as written

    def test_wanted_columns_only_in_their_order(self, tmp_path: Path) -> None:
        path = write(tmp_path, "h.csv", "id,opened,what\n1,2,3\n")
        frame = read_table(path, wanted=[("--text", "what"), ("--id", "id"), ("--x", "what")])
        assert frame.columns == ["what", "id"]

    def test_times_in_order_each_filling_what_is_left(self) -> None:
        series = pl.Series("t", ["10/21/18 0:05", "10/21/2018 01:30:00 PM", "", None, "soon"])
        assert parse_times(series, ("%m/%d/%y %H:%M", "%m/%d/%Y %I:%M:%S %p")).to_list() == [
            datetime(2018, 10, 21, 0, 5),
            datetime(2018, 10, 21, 13, 30),
            None,
            None,
            None,
        ]

    def test_an_offset_is_converted_to_utc(self) -> None:
        series = pl.Series("t", ["2019-11-11 19:44:11+02:00"])
        assert parse_times(series).to_list() == [datetime(2019, 11, 11, 17, 44, 11)]

    def test_a_two_digit_year_is_not_read_as_the_first_century(self) -> None:
        guess = guess_time_format(pl.Series("t", ["3/1/24 9:05", "3/2/24 10:00"]))
        assert guess is not None
        assert (guess.format, guess.share) == ("%m/%d/%y %H:%M", 1.0)
        assert guess_time_format(pl.Series("t", ["soon", "later"])) is None


class TestRefusals:
    def test_each_refusal_names_the_flag_and_the_file(self, tmp_path: Path) -> None:
        folder = tmp_path / "folder"
        folder.mkdir()
        cases = [
            (tmp_path / "none.csv", "does not exist"),
            (folder, "is a directory"),
            (write(tmp_path, "h.json", "{}"), "unknown file type '.json'; not a CSV or Parquet"),
            (write(tmp_path, "empty.csv", ""), "is empty"),
            (write(tmp_path, "header.csv", "a,b\n"), "has a header but no rows"),
            (write(tmp_path, "broken.csv", 'a,b\n"x,1\n'), "broken.csv cannot be read"),
        ]
        for path, reason in cases:
            with pytest.raises(Refused, match=reason) as caught:
                read_table(path, flag="--history", error=Refused)
            assert caught.value.field == "--history"
            assert "\n" not in str(caught.value)

    def test_a_missing_column_is_named_with_the_ones_there(self, tmp_path: Path) -> None:
        path = write(tmp_path, "h.csv", "诉求内容,工单号\n路灯不亮,1\n")
        with pytest.raises(ValidationFailed) as caught:
            read_table(path, wanted=[("--text", "诉求内容"), ("--label", "部门")])
        assert caught.value.field == "--label"
        assert caught.value.reason == "no column '部门' in h.csv; available: 诉求内容, 工单号"

    def test_the_callers_missing_column_error_is_used(self, tmp_path: Path) -> None:
        path = write(tmp_path, "h.csv", "a\n1\n")

        def missing(flag: str, column: str, source: str, available: object) -> Exception:
            return Refused(flag, f"{column} not in {source}")

        with pytest.raises(Refused, match=r"--id: b not in h\.csv"):
            read_table(path, wanted=[("--id", "b")], missing=missing)

    def test_a_file_checked_before_it_is_read(self, tmp_path: Path) -> None:
        assert check_file(write(tmp_path, "h.TSV", "a\n1\n")) == ".tsv"

    def test_an_unknown_preset_lists_the_presets(self) -> None:
        with pytest.raises(ValidationFailed, match=r"'nyc' is not a preset; presets: .*'nyc311'"):
            preset("nyc")
        assert preset("sf311") is PRESETS["sf311"]


class TestPresetData:
    """The presets are data (cogov/core/data/presets.yaml), checked when loaded."""

    def test_every_known_export_is_there(self) -> None:
        assert set(PRESETS) == {
            "nyc311", "nyc311-api", "baltimore311", "la311", "cfpb", "sf311", "nyc-council"
        }  # fmt: skip
        assert PRESETS["cfpb"].learns == "Product"
        assert PRESETS["nyc311"].learns == "Agency"

    @pytest.mark.parametrize(
        ("entry", "problem"),
        [
            ({"description": "d", "id": "i"}, r"x: missing \['created'\]"),
            ({"description": "d", "id": "i", "created": "c", "zip": "z"}, "unknown fields"),
            ({"description": "d", "id": "i", "created": "c", "text": "t"}, "x.text: a list"),
            ({"description": "d", "id": "i", "created": 3}, "x.created: a column name"),
        ],
    )
    def test_a_bad_entry_is_refused_naming_it(self, entry: dict[str, object], problem: str) -> None:
        with pytest.raises(ValueError, match=problem):
            load_presets({"x": entry})
        assert load_presets({"x": {"description": "d", "id": "i", "created": "c"}})["x"].id == "i"

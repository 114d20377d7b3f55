"""Reading a file of cases: column flags, presets, dates and yes/no in the forms
open data uses, and one clear error naming the column when something is wrong."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from cogov.audit import (
    BadColumn,
    BadInput,
    ColumnMap,
    MissingColumn,
    preset,
    read_cases,
    read_targets,
)
from cogov.audit.files import parse_booleans, parse_times


def write(tmp_path: Path, text: str, name: str = "cases.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


class TestColumns:
    def test_missing_column_names_the_flag_and_lists_the_columns(self, tmp_path: Path) -> None:
        path = write(tmp_path, "id,opened,closed\n1,2024-01-01,2024-01-02\n")
        with pytest.raises(MissingColumn) as caught:
            read_cases(path, ColumnMap(created_at="opened", closed_at="shut"))
        assert caught.value.message == (
            "--closed: column 'shut' is not in cases.csv; "
            "available columns: 'id', 'opened', 'closed'"
        )

    def test_missing_group_column(self, tmp_path: Path) -> None:
        path = write(tmp_path, "opened\n2024-01-01\n")
        with pytest.raises(MissingColumn, match="--group: column 'ward'"):
            read_cases(path, ColumnMap(created_at="opened", groups=("ward",)))

    def test_created_is_required(self, tmp_path: Path) -> None:
        path = write(tmp_path, "opened\n2024-01-01\n")
        with pytest.raises(BadInput, match="--created"):
            read_cases(path, ColumnMap())

    def test_unreadable_dates_are_refused_with_an_example(self, tmp_path: Path) -> None:
        path = write(tmp_path, "opened\nsoon\nlater\n")
        with pytest.raises(BadColumn, match=r"--created: column 'opened' is not a date.*'soon'"):
            read_cases(path, ColumnMap(created_at="opened"))

    def test_yes_no_values_that_are_neither_are_listed(self, tmp_path: Path) -> None:
        path = write(tmp_path, "opened,auto\n2024-01-01,yes\n2024-01-02,perhaps\n")
        with pytest.raises(BadColumn, match=r"--without-human.*'perhaps'"):
            read_cases(path, ColumnMap(created_at="opened", handled_without_human="auto"))

    def test_not_a_table_file(self, tmp_path: Path) -> None:
        with pytest.raises(BadInput, match="not a CSV or Parquet"):
            read_cases(write(tmp_path, "{}", "cases.json"), ColumnMap(created_at="x"))

    def test_groups_and_case_columns_arrive_typed(self, tmp_path: Path) -> None:
        path = write(
            tmp_path,
            "\ufeffid,opened,shut,ward,src,auto\n"
            "1,10/21/18 0:00,10/21/18 2:30,W1,phone,Y\n"
            "2,10/21/18 1:00,,W2,web,n\n",
        )
        frame = read_cases(
            path,
            ColumnMap(
                case_id="id",
                created_at="opened",
                closed_at="shut",
                channel="src",
                handled_without_human="auto",
                groups=("ward", "channel"),
            ),
        )
        row = frame.data.row(0, named=True)
        assert row["created_at"] == datetime(2018, 10, 21, 0, 0)
        assert row["closed_at"] == datetime(2018, 10, 21, 2, 30)
        assert row["handled_without_human"] is True
        assert row["ward"] == "W1"
        assert frame.groups == ("ward", "channel")
        assert "closed_at" in frame.provided
        assert "due_at" not in frame.provided

    def test_parquet_dates(self, tmp_path: Path) -> None:
        path = tmp_path / "cases.parquet"
        pl.DataFrame({"opened": [datetime(2024, 1, 1).date()], "ward": [3]}).write_parquet(path)
        frame = read_cases(path, ColumnMap(created_at="opened", groups=("ward",)))
        assert frame.data.get_column("created_at")[0] == datetime(2024, 1, 1)
        assert frame.data.get_column("ward")[0] == "3"


class TestValues:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2024-03-01T10:20:30.123", datetime(2024, 3, 1, 10, 20, 30, 123000)),
            ("2024-03-01 10:20:30", datetime(2024, 3, 1, 10, 20, 30)),
            ("03/01/2024 10:20:30 PM", datetime(2024, 3, 1, 22, 20, 30)),
            ("3/1/24 9:05", datetime(2024, 3, 1, 9, 5)),
            ("2024-03-01", datetime(2024, 3, 1)),
            ("2019-11-11 19:44:11+00:00", datetime(2019, 11, 11, 19, 44, 11)),
            ("2019-11-11 19:44:11+02:00", datetime(2019, 11, 11, 17, 44, 11)),
            ("2019-10-06 00:05:55 UTC", datetime(2019, 10, 6, 0, 5, 55)),
            ("2026-03-02T09:00:00.000000Z", datetime(2026, 3, 2, 9, 0)),
        ],
    )
    def test_times(self, text: str, expected: datetime) -> None:
        assert parse_times(pl.Series("t", [text, None]), "--created").to_list() == [expected, None]

    def test_booleans(self) -> None:
        values = pl.Series("b", ["Yes", "no", "TRUE", "0", "", None])
        assert parse_booleans(values, "--appealed").to_list() == [
            True,
            False,
            True,
            False,
            None,
            None,
        ]


class TestPresetsAndTargets:
    def test_unknown_preset_lists_the_presets(self) -> None:
        with pytest.raises(BadInput, match=r"'nyc'.*'nyc311'"):
            preset("nyc")

    def test_flags_override_a_preset(self) -> None:
        columns = preset("nyc311").columns.merged(
            {"closed_at": "Resolution Action Updated Date", "agent": None}
        )
        assert columns.closed_at == "Resolution Action Updated Date"
        assert columns.created_at == "Created Date"

    def test_targets_file(self, tmp_path: Path) -> None:
        assert read_targets(write(tmp_path, "service,hours\nnoise,8\nheat,24\n")) == {
            "noise": 8.0,
            "heat": 24.0,
        }
        with pytest.raises(BadColumn, match="positive"):
            read_targets(write(tmp_path, "service,hours\nnoise,0\n", "t2.csv"))


class TestUnreadableFiles:
    def test_a_broken_csv_is_one_clear_error(self, tmp_path: Path) -> None:
        path = write(tmp_path, 'a,b\n"x,1\n')
        with pytest.raises(BadInput, match=r"--data: cases\.csv cannot be read"):
            read_cases(path, ColumnMap(created_at="a"))

    def test_paths_are_named_by_their_flag(self, tmp_path: Path) -> None:
        from cogov.audit import read_population

        with pytest.raises(BadInput, match=r"--population: .* does not exist"):
            read_population(tmp_path / "none.csv", "a", "b")
        with pytest.raises(BadInput, match=r"--targets: .* is a directory"):
            read_targets(tmp_path)

"""The demo's history: its view of the shared presets, column flags on top, and a
history ordered by its creation time (read by the shared table reader)."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest

from cogov.core.errors import ValidationFailed
from cogov.pipeline.history import PRESETS, HistoryColumns, columns_for, read_split
from tests.conftest import shared_data

from .conftest import PHRASES


def dated_history(path: Path, created: list[str]) -> Path:
    """Requests written out of time order (the 'when' column says the real order)."""
    rows = [(phrase, department) for department, items in PHRASES.items() for phrase in items]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ref", "what", "team", "when"])
        for number, ((phrase, department), when) in enumerate(zip(rows, created, strict=False)):
            writer.writerow([f"R{number}", phrase, department, when])
    return path


class TestPresetViews:
    def test_the_demo_offers_the_presets_that_name_text_and_label(self) -> None:
        assert set(PRESETS) == {"nyc311", "nyc311-api", "sf311", "baltimore311", "la311", "cfpb"}
        assert PRESETS["nyc311"].label == "Agency"
        assert PRESETS["nyc311"].service == "Complaint Type"

    def test_a_service_that_is_the_label_is_left_out(self) -> None:
        # CFPB's label is its Product, which is also its service: a replayed request
        # must not arrive carrying its own answer.
        assert (PRESETS["cfpb"].label, PRESETS["cfpb"].service) == ("Product", None)

    def test_flags_supply_what_a_preset_lacks(self) -> None:
        with pytest.raises(ValidationFailed, match="--preset: nyc-council names no text"):
            columns_for("nyc-council", {})
        columns = columns_for("nyc-council", {"text": ["descriptor"], "label": "account"})
        assert (columns.text, columns.label, columns.created) == (
            ("descriptor",),
            "account",
            "opendate",
        )

    def test_an_unknown_preset_lists_them(self) -> None:
        with pytest.raises(ValidationFailed, match=r"--preset: 'nope' is not a preset.*'nyc311'"):
            columns_for("nope", {})


class TestReadSplit:
    def test_a_created_column_named_by_a_flag_orders_the_history(self, tmp_path: Path) -> None:
        created = [f"10/{day:02d}/2018 09:00:00 AM" for day in range(30, 0, -1)]
        path = dated_history(tmp_path / "h.csv", created)
        columns = HistoryColumns(text=("what",), label="team", id="ref", created="when")
        split = read_split(path, columns, train_share=0.5)
        times = [record.created for record in (*split.train, *split.replay)]
        assert times == sorted(times)
        assert times[0] == datetime(2018, 10, 11, 9, 0)  # 20 rows, written from the 30th down

    def test_a_missing_column_is_named_with_the_ones_there(self, tmp_path: Path) -> None:
        path = dated_history(tmp_path / "h.csv", ["2018-10-01"] * 30)
        columns = HistoryColumns(text=("what", "body"), label="team")
        with pytest.raises(ValidationFailed) as caught:
            read_split(path, columns)
        assert caught.value.field == "--text-col"
        assert caught.value.reason == "no column 'body' in h.csv; available: ref, what, team, when"

    def test_an_empty_file_names_the_history_flag(self, tmp_path: Path) -> None:
        path = tmp_path / "h.csv"
        path.write_text("")
        with pytest.raises(ValidationFailed, match=r"--history: .*h\.csv is empty"):
            read_split(path, HistoryColumns(text=("what",), label="team"))

    @pytest.mark.realdata
    def test_sf311_is_ordered_by_its_utc_dates(self) -> None:
        split = read_split(shared_data("sf311_sample/sf311.csv"), columns_for("sf311", {}))
        times = [record.created for record in (*split.train, *split.replay)]
        assert None not in times
        assert times == sorted(times)  # type: ignore[type-var]

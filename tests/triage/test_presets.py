"""Replaying a public export with the agency's own duplicate labels, through the
shared presets and table reader."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cogov.core.tabular import PRESETS
from cogov.triage.errors import TriageInputError
from cogov.triage.presets import baltimore311_cases, replayed_cases

HEADER = "ServiceRequestNum,SRType,CreatedDate,CloseDate,Address,Latitude,Longitude,SRStatus\n"


class TestReplayedCases:
    def test_baltimore_places_times_and_labels(self, tmp_path: Path) -> None:
        path = tmp_path / "b.csv"
        path.write_text(
            HEADER + "18-1,SW-Dirty Alley,04/12/2018 11:11:26 AM,04/12/2018 12:45:47 PM,"
            '"3400 GARRISON BLVD",39.3,-76.7,Closed (Duplicate)\n'
            "18-2,SW-Dirty Alley,04/13/2018 08:00:00 AM,,,,,Open\n",
            encoding="utf-8",
        )
        cases, labels = baltimore311_cases(path)
        assert labels == {"18-1": True, "18-2": False}
        first, second = cases
        assert first.case.created_at == datetime(2018, 4, 12, 11, 11, 26, tzinfo=UTC)
        assert first.closed_at == datetime(2018, 4, 12, 12, 45, 47, tzinfo=UTC)
        assert first.case.address_key == "3400 GARRISON BLVD"
        assert (first.case.latitude, first.case.longitude) == (39.3, -76.7)
        assert (second.closed_at, second.case.address_key, second.case.latitude) == (
            None,
            None,
            None,
        )

    def test_a_missing_column_is_named(self, tmp_path: Path) -> None:
        path = tmp_path / "b.csv"
        path.write_text("ServiceRequestNum,SRType\n1,x\n", encoding="utf-8")
        with pytest.raises(TriageInputError, match=r"no column 'CreatedDate' in b\.csv"):
            baltimore311_cases(path)

    def test_a_preset_without_duplicate_labels_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(TriageInputError, match="la311 has no duplicate labels"):
            replayed_cases(tmp_path / "la.csv", PRESETS["la311"])

"""Readers for public 311 exports whose agencies marked duplicates themselves, so
duplicate detection can be replayed and measured against their own labels.

- NYC 311 (NYC Open Data "311 Service Requests", 41-column schema): a case is a
  duplicate when its "Resolution Description" says so.
- Baltimore 311 ("311 Customer Service Requests"): when ``SRStatus`` is a
  "(Duplicate)" status.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cogov.triage.duplicates import ReplayedCase
from cogov.triage.history import read_table
from cogov.triage.protocol import CaseView

Labelled = tuple[list[ReplayedCase], dict[str, bool]]


def _number(value: str | None) -> float | None:
    try:
        return float(value.replace(",", "")) if value else None
    except ValueError:
        return None


def _parser(pattern: str) -> Callable[[str | None], datetime | None]:
    def parse(value: str | None) -> datetime | None:
        return datetime.strptime(value, pattern).replace(tzinfo=UTC) if value else None

    return parse


def nyc311_cases(path: Path) -> Labelled:
    """Cases (place = address + zip, service = complaint type) and duplicate labels."""
    when = _parser("%m/%d/%y %H:%M")
    cases, labels = [], {}
    for row in read_table(path).iter_rows(named=True):
        address = row["Incident Address"]
        cases.append(
            ReplayedCase(
                CaseView(
                    case_id=row["Unique Key"],
                    description=row["Complaint Type"] or "",
                    service_code=row["Complaint Type"],
                    created_at=when(row["Created Date"]),
                    address_key=f"{address} {row['Incident Zip']}" if address else None,
                    latitude=_number(row["Latitude"]),
                    longitude=_number(row["Longitude"]),
                    extra_text={"Descriptor": row["Descriptor"] or ""},
                ),
                closed_at=when(row["Closed Date"]),
            )
        )
        labels[row["Unique Key"]] = "duplicate" in (row["Resolution Description"] or "").lower()
    return cases, labels


def baltimore311_cases(path: Path) -> Labelled:
    """Cases (place = address, service = SRType) and duplicate labels from SRStatus."""
    when = _parser("%m/%d/%Y %I:%M:%S %p")
    cases, labels = [], {}
    for row in read_table(path).iter_rows(named=True):
        cases.append(
            ReplayedCase(
                CaseView(
                    case_id=row["ServiceRequestNum"],
                    description=row["SRType"] or "",
                    service_code=row["SRType"],
                    created_at=when(row["CreatedDate"]),
                    address_key=row["Address"],
                    latitude=_number(row["Latitude"]),
                    longitude=_number(row["Longitude"]),
                ),
                closed_at=when(row["CloseDate"]),
            )
        )
        labels[row["ServiceRequestNum"]] = "duplicate" in (row["SRStatus"] or "").lower()
    return cases, labels

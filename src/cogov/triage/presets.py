"""Readers for public 311 exports whose agencies marked duplicates themselves, so
duplicate detection can be replayed and measured against their own labels. The
columns, time formats and duplicate patterns are the shared presets
(cogov.core.tabular.PRESETS):

- NYC 311 (NYC Open Data "311 Service Requests", 41-column schema): a case is a
  duplicate when its "Resolution Description" says so.
- Baltimore 311 ("311 Customer Service Requests"): when ``SRStatus`` is a
  "(Duplicate)" status.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from cogov.core.tabular import PRESETS, Preset, parse_times, read_table
from cogov.triage.duplicates import ReplayedCase
from cogov.triage.errors import TriageInputError
from cogov.triage.protocol import CaseView

Labelled = tuple[list[ReplayedCase], dict[str, bool]]


def _number(value: str | None) -> float | None:
    try:
        return float(value.replace(",", "")) if value else None
    except ValueError:
        return None


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None else None


def replayed_cases(path: Path, source: Preset) -> Labelled:
    """Cases (place = address, with the postcode where the preset has one; service =
    the preset's service; the detail column as extra text) and the agency's own
    duplicate labels, from a file in ``source``'s schema."""
    roles = {
        "id": source.id,
        "service": source.service,
        "created": source.created,
        "closed": source.closed,
        "address": source.address,
        "postcode": source.postcode,
        "latitude": source.latitude,
        "longitude": source.longitude,
        "detail": source.detail,
        "outcome": source.outcome,
    }
    service_column, outcome = source.service, source.outcome
    if service_column is None or outcome is None or not source.duplicate_pattern:
        raise TriageInputError("--preset", f"{source.name} has no duplicate labels to replay")
    wanted = [("--data", column) for column in roles.values() if column is not None]
    frame = read_table(path, wanted=wanted, error=TriageInputError)
    frame = frame.with_columns(
        parse_times(frame[source.created], source.time_formats).alias("__created"),
        (
            parse_times(frame[source.closed], source.time_formats)
            if source.closed
            else pl.lit(None, dtype=pl.Datetime("us"))
        ).alias("__closed"),
        frame[outcome]
        .fill_null("")
        .str.contains(f"(?i){source.duplicate_pattern}")
        .alias("__duplicate"),
    )
    cases, labels = [], {}
    for row in frame.iter_rows(named=True):
        address = row[source.address] if source.address else None
        if source.postcode:
            address = f"{address} {row[source.postcode]}" if address else None
        service = row[service_column]
        cases.append(
            ReplayedCase(
                CaseView(
                    case_id=row[source.id],
                    description=service or "",
                    service_code=service,
                    created_at=_utc(row["__created"]),
                    address_key=address,
                    latitude=_number(row[source.latitude]) if source.latitude else None,
                    longitude=_number(row[source.longitude]) if source.longitude else None,
                    extra_text={source.detail: row[source.detail] or ""} if source.detail else {},
                ),
                closed_at=_utc(row["__closed"]),
            )
        )
        labels[row[source.id]] = bool(row["__duplicate"])
    return cases, labels


def nyc311_cases(path: Path) -> Labelled:
    """NYC 311 as exported: place = address + zip, service = complaint type."""
    return replayed_cases(path, PRESETS["nyc311"])


def baltimore311_cases(path: Path) -> Labelled:
    """Baltimore 311: place = address, service = SRType, duplicates from SRStatus."""
    return replayed_cases(path, PRESETS["baltimore311"])

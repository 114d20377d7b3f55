"""A real agency's history, read for the demo and the sandbox: which columns say
what (presets for the public 311 exports, or column flags), split in time into a
part to learn from and a part to replay as live requests, each replayed request
carrying what the agency really did with it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cogov.core.errors import ValidationFailed
from cogov.core.tabular import PRESETS as TABLE_PRESETS
from cogov.core.tabular import Preset, parse_times, read_table
from cogov.core.tabular import preset as table_preset
from cogov.core.types import Channel
from cogov.intake import Catalogue, service_code_for
from cogov.triage.text import join_fields

_CHANNELS = {
    "phone": Channel.PHONE,
    "call": Channel.PHONE,
    "voicemail": Channel.PHONE,
    "online": Channel.WEB,
    "web": Channel.WEB,
    "self service": Channel.WEB,
    "mobile": Channel.APP,
    "mobile app": Channel.APP,
    "mobile/open311": Channel.OPEN311,
    "api": Channel.OPEN311,
    "email": Channel.EMAIL,
    "e-mail": Channel.EMAIL,
    "walk-in": Channel.COUNTER,
    "counter": Channel.COUNTER,
    "sms": Channel.SMS,
    "text": Channel.SMS,
}


@dataclass(frozen=True, slots=True)
class HistoryColumns:
    """Which column holds what. ``text`` columns are what the engine reads;
    ``label`` is the department the agency really sent the request to."""

    text: tuple[str, ...]
    label: str
    id: str | None = None
    created: str | None = None
    service: str | None = None
    channel: str | None = None
    outcome: str | None = None
    latitude: str | None = None
    longitude: str | None = None
    address: str | None = None
    # A case the agency closed as a duplicate says so in ``outcome`` (regex, any case).
    duplicate_pattern: str | None = None
    created_formats: tuple[str, ...] = ()

    def named(self) -> dict[str, str]:
        """Every column named, by role (for checking the file has them)."""
        roles = {
            "--id-col": self.id,
            "--created-col": self.created,
            "--label-col": self.label,
            "--service-col": self.service,
            "--channel-col": self.channel,
            "--outcome-col": self.outcome,
            "--lat-col": self.latitude,
            "--long-col": self.longitude,
            "--address-col": self.address,
        }
        found = {flag: column for flag, column in roles.items() if column}
        for column in self.text:
            found.setdefault("--text-col", column)
        return found

    @classmethod
    def from_preset(cls, source: Preset) -> HistoryColumns:
        """A known export's columns as the demo reads them. A service column that is
        also the label is left out: a replayed request never carries its own answer."""
        label = source.learns
        if not source.text or label is None:
            raise ValidationFailed(
                "--preset",
                f"{source.name} names no text or label columns; name them with "
                "--text-col and --label-col",
            )
        return cls(
            text=source.text,
            label=label,
            id=source.id,
            created=source.created,
            service=source.service if source.service != label else None,
            channel=source.channel,
            outcome=source.outcome,
            latitude=source.latitude,
            longitude=source.longitude,
            address=source.address,
            duplicate_pattern=source.duplicate_pattern,
            created_formats=source.time_formats,
        )


#: The shared presets (cogov.core.tabular) that name the texts and label a demo learns.
PRESETS: Mapping[str, HistoryColumns] = {
    name: HistoryColumns.from_preset(source)
    for name, source in TABLE_PRESETS.items()
    if source.text and source.learns
}


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """One past request: what the citizen asked, and what the agency really did."""

    ref: str
    text: str
    service_name: str
    department: str
    channel: Channel
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    was_duplicate: bool = False
    created: datetime | None = None  # when the agency received it (naive: local time)

    @property
    def service_code(self) -> str:
        return service_code_for(self.service_name)

    def request(self) -> dict[str, Any]:
        """The request as a citizen (or the call centre) would have sent it."""
        body: dict[str, Any] = {
            "service_code": self.service_code,
            "description": self.text[:4000],
            "channel": self.channel.value,
        }
        if self.latitude is not None and self.longitude is not None:
            body["lat"], body["long"] = self.latitude, self.longitude
        if self.address:
            body["address_string"] = self.address[:500]
        return body


@dataclass(frozen=True, slots=True)
class SplitHistory:
    train: tuple[HistoryRecord, ...]
    replay: tuple[HistoryRecord, ...]
    replay_available: int  # requests after the training part (``replay`` may be fewer)
    rows_read: int
    dropped: int
    columns: HistoryColumns
    catalogue: Catalogue = field(repr=False)


def columns_for(preset: str | None, overrides: Mapping[str, Any]) -> HistoryColumns:
    """The preset's columns with any flag given on top (None means "not given")."""
    given = {key: value for key, value in overrides.items() if value not in (None, (), [])}
    if "text" in given:
        given["text"] = tuple(given["text"])
    if preset is not None:
        # Flags may supply what a preset lacks (nyc-council names no text or label).
        source = table_preset(preset)
        source = replace(
            source,
            text=given.get("text", source.text),
            label=given.get("label", source.label),
        )
        return replace(HistoryColumns.from_preset(source), **given)
    if "text" not in given or "label" not in given:
        raise ValidationFailed(
            "--text-col/--label-col",
            f"name the text and label columns, or choose a --preset ({', '.join(sorted(PRESETS))})",
        )
    return HistoryColumns(**given)


def _float(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value.replace(",", ""))
    except ValueError:
        return None
    return number if number == number else None


def read_split(
    path: Path,
    columns: HistoryColumns,
    *,
    train_share: float = 0.5,
    replay_limit: int | None = None,
) -> SplitHistory:
    """Read the history, order it by time (file order where there is no usable
    date), and split it: the first ``train_share`` teaches, the rest is replayed
    (at most ``replay_limit`` requests)."""
    if not 0.05 <= train_share <= 0.95:
        raise ValidationFailed("--train-share", "must be between 0.05 and 0.95")
    wanted = [*columns.named().items(), *(("--text-col", column) for column in columns.text)]
    frame = read_table(path, flag="--history", wanted=wanted)
    rows_read = frame.height
    frame = frame.with_row_index("__row")
    if columns.created:
        # The preset's formats, or (columns named by flags) the known one that reads most.
        created = parse_times(frame[columns.created], columns.created_formats)
        if created.null_count() < frame.height:
            frame = frame.with_columns(created.alias("__created")).sort(
                ["__created", "__row"], nulls_last=True
            )
    duplicate = (
        re.compile(columns.duplicate_pattern, re.IGNORECASE) if columns.duplicate_pattern else None
    )
    records: list[HistoryRecord] = []
    dropped = 0
    for row in frame.iter_rows(named=True):
        text = join_fields([(row.get(c) or "").strip() for c in columns.text])
        department = (row.get(columns.label) or "").strip()
        if not text or not department:
            dropped += 1
            continue
        service = (row.get(columns.service) or "").strip() if columns.service else ""
        channel_text = (row.get(columns.channel) or "").strip().lower() if columns.channel else ""
        outcome = (row.get(columns.outcome) or "") if columns.outcome else ""
        latitude = _float(row.get(columns.latitude)) if columns.latitude else None
        longitude = _float(row.get(columns.longitude)) if columns.longitude else None
        if latitude is not None and not -90 <= latitude <= 90:
            latitude = None
        if longitude is not None and not -180 <= longitude <= 180:
            longitude = None
        if latitude is None or longitude is None:
            latitude = longitude = None
        records.append(
            HistoryRecord(
                ref=str(row.get(columns.id) or row["__row"] + 1)
                if columns.id
                else str(row["__row"] + 1),
                text=text,
                service_name=service or "General",
                department=department,
                channel=_CHANNELS.get(channel_text, Channel.OTHER),
                latitude=latitude,
                longitude=longitude,
                address=(row.get(columns.address) or "").strip() or None
                if columns.address
                else None,
                was_duplicate=bool(duplicate and duplicate.search(outcome)),
                created=row.get("__created"),
            )
        )
    if len(records) < 20:
        raise ValidationFailed(
            "--history", f"{path.name} has {len(records)} usable rows; the demo needs at least 20"
        )
    cut = int(len(records) * train_share)
    train, replay = records[:cut], records[cut:]
    if replay_limit is not None:
        replay = replay[:replay_limit]
    catalogue = Catalogue.of_names(
        sorted({record.service_name for record in records}), group="Services from the history"
    )
    return SplitHistory(
        train=tuple(train),
        replay=tuple(replay),
        replay_available=len(records) - cut,
        rows_read=rows_read,
        dropped=dropped,
        columns=columns,
        catalogue=catalogue,
    )

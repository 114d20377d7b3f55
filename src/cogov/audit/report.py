"""One audit from one case frame: efficiency, fairness for every group column,
coverage against a population, and the outputs (plain dicts, JSON, CSV, HTML)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from cogov.audit.coverage import DEFAULT_FRACTION, CoverageResult, coverage
from cogov.audit.efficiency import EfficiencyResult, Period, efficiency
from cogov.audit.errors import BadInput, MissingColumn
from cogov.audit.fairness import FairnessOptions, FairnessResult, check_reference, fairness
from cogov.audit.frame import CaseFrame, OnTimeRule, derive, split_group
from cogov.audit.metrics import FAIRNESS_METRICS
from cogov.core.clock import Clock, SystemClock, iso_utc


@dataclass(frozen=True)
class AuditOptions:
    """Everything that shapes an audit besides the data (see docs/audit.md)."""

    fairness: FairnessOptions = field(default_factory=FairnessOptions)
    on_time: OnTimeRule = field(default_factory=OnTimeRule)
    period: Period = "month"
    coverage_fraction: float = DEFAULT_FRACTION
    #: Group columns to audit; empty: the frame's own.
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Checked here, not only when a population is given, so a wrong value is never
        # accepted silently.
        if not 0 < self.coverage_fraction < 1:
            raise BadInput("--coverage-fraction", "must be between 0 and 1")


@dataclass(frozen=True)
class AuditReport:
    source: str
    cases: int
    generated_at: str
    options: AuditOptions
    efficiency: EfficiencyResult
    fairness: tuple[FairnessResult, ...]
    coverage: CoverageResult | None
    metrics_with_data: tuple[str, ...]
    notes: tuple[str, ...] = ()
    responsibility: tuple[Mapping[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The whole report as plain JSON-ready values (what the web pages show)."""
        return {
            "source": self.source,
            "cases": self.cases,
            "generated_at": self.generated_at,
            "options": _options_dict(self.options),
            "metrics_with_data": list(self.metrics_with_data),
            "notes": list(self.notes),
            "efficiency": {
                "period": self.efficiency.period,
                "overall": rows(self.efficiency.overall)[0]
                if self.efficiency.overall.height
                else {},
                "by": {name: rows(table) for name, table in self.efficiency.by.items()},
                "routes": rows(self.efficiency.routes),
            },
            "fairness": [
                {
                    "group": result.group,
                    "rows": rows(result.table),
                    "summary": rows(result.summary),
                    "warnings": list(result.warnings),
                    "flagged": rows(result.table.filter(pl.col("flagged"))),
                }
                for result in self.fairness
            ],
            "coverage": None if self.coverage is None else _coverage_dict(self.coverage),
            "responsibility": [dict(item) for item in self.responsibility],
        }

    def tables(self) -> dict[str, pl.DataFrame]:
        """Every table of the report by a file-safe name (what the CSV files hold)."""
        out: dict[str, pl.DataFrame] = {"efficiency_overall": self.efficiency.overall}
        out |= {f"efficiency_by_{name}": table for name, table in self.efficiency.by.items()}
        if self.efficiency.routes.height:
            out["routing_by_route"] = self.efficiency.routes
        for result in self.fairness:
            out[f"fairness_{slug(result.group)}"] = result.table
            out[f"fairness_summary_{slug(result.group)}"] = result.summary
        if self.responsibility:
            out["responsibility"] = pl.DataFrame(
                [
                    {
                        "case_id": item.get("case_id"),
                        "proposal_id": item.get("proposal_id"),
                        "party": finding["party"],
                        "who": finding["who"],
                        "rule": finding["rule"],
                        "reason": finding["reason"],
                        "ledger_seqs": " ".join(str(seq) for seq in finding["ledger_seqs"]),
                    }
                    for item in self.responsibility
                    for finding in item.get("findings", [])
                ],
                schema=dict.fromkeys(
                    ("case_id", "proposal_id", "party", "who", "rule", "reason", "ledger_seqs"),
                    pl.String,
                ),
            )
        if self.coverage is not None:
            out["coverage"] = self.coverage.table
            out["coverage_channels"] = self.coverage.channel_mix
            out["coverage_unmatched"] = self.coverage.unmatched
        return out


def run_audit(
    frame: CaseFrame,
    *,
    options: AuditOptions | None = None,
    population: pl.DataFrame | None = None,
    responsibility: Sequence[Mapping[str, Any]] = (),
    clock: Clock | None = None,
) -> AuditReport:
    """Audit a case frame. ``population``: a table with columns ``area`` and
    ``population`` (see :func:`cogov.audit.coverage.read_population`)."""
    options = options or AuditOptions()
    groups = options.groups or frame.groups
    for part in (part for group in groups for part in split_group(group)):
        if part not in frame.data.columns:
            raise MissingColumn(
                "--group", part, frame.source or "the case frame", frame.data.columns
            )
    derived = derive(frame, options.on_time)
    present = [
        metric.name
        for metric in FAIRNESS_METRICS
        if derived.get_column(metric.column).null_count() < derived.height
    ]
    notes = list(frame.notes)
    if frame.rows == 0:
        notes.append(f"No cases to audit in {frame.source or 'the data'}.")
    if frame.rows and not present:
        notes.append(
            "No fairness metric has data: the source records no outcome this audit can compare."
        )
    audited = tuple(fairness(derived, group, options.fairness) for group in groups)
    check_reference(options.fairness.reference, audited)
    return AuditReport(
        source=frame.source,
        cases=frame.rows,
        generated_at=iso_utc((clock or SystemClock()).now()),
        options=options,
        efficiency=efficiency(derived, period=options.period),
        fairness=audited,
        coverage=None
        if population is None
        else coverage(derived, population, fraction=options.coverage_fraction),
        metrics_with_data=tuple(present),
        notes=tuple(notes),
        responsibility=tuple(responsibility),
    )


def write_outputs(report: AuditReport, out_dir: Path, *, html: bool = True) -> list[Path]:
    """Write audit.json, one CSV per table and (by default) report.html; return the paths."""
    from cogov.audit.html import render_html  # the HTML module is only needed here

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "audit.json"]
    written[0].write_text(to_json(report.to_dict()), encoding="utf-8")
    for name, table in report.tables().items():
        path = out_dir / f"{name}.csv"
        table.write_csv(path)
        written.append(path)
    if html:
        path = out_dir / "report.html"
        path.write_text(render_html(report), encoding="utf-8")
        written.append(path)
    return written


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=_json_default, allow_nan=False)


def rows(table: pl.DataFrame) -> list[dict[str, Any]]:
    """A table as a list of plain dicts: dates as ISO text, NaN and infinities as None."""
    return [
        {key: _plain(value) for key, value in row.items()} for row in table.iter_rows(named=True)
    ]


def slug(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or "group"


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _options_dict(options: AuditOptions) -> dict[str, Any]:
    fair = options.fairness
    return {
        "reference": fair.reference,
        "min_group_size": fair.min_group_size,
        "replicates": fair.replicates,
        "level": fair.level,
        "seed": fair.seed,
        "disparity_band": list(fair.band),
        "period": options.period,
        "coverage_fraction": options.coverage_fraction,
        "service_targets_hours": dict(options.on_time.targets),
        "default_target_hours": options.on_time.default_hours,
        "as_of": None if options.on_time.as_of is None else options.on_time.as_of.isoformat(),
    }


def _coverage_dict(result: CoverageResult) -> dict[str, Any]:
    return {
        "median_rate_per_1000": result.median_rate,
        "threshold_per_1000": result.threshold,
        "fraction_of_median": result.fraction,
        "cases_without_area": result.cases_without_area,
        "areas": rows(result.table),
        "possibly_unreached": rows(result.table.filter(pl.col("possibly_unreached"))),
        "unmatched_case_areas": rows(result.unmatched),
        "channels_overall": rows(result.overall_channels),
    }


def summary_lines(report: AuditReport, limit: int = 10) -> list[str]:
    """A few plain sentences for a terminal: the headline numbers and what is flagged."""
    overall = rows(report.efficiency.overall)[0] if report.efficiency.overall.height else {}
    lines = [f"{report.cases:,} cases from {report.source or 'the data'}"]
    for key, label, fmt in (
        ("median_hours_to_close", "median hours to close", "{:.1f}"),
        ("on_time_rate", "on-time rate", "{:.1%}"),
        ("without_human_share", "handled without a human", "{:.1%}"),
        ("override_rate", "human override rate", "{:.1%}"),
        ("routing_accuracy", "routing accuracy", "{:.1%}"),
    ):
        if overall.get(key) is not None:
            lines.append(f"{label}: {fmt.format(overall[key])}")
    for result in report.fairness:
        flagged = result.table.filter(pl.col("flagged"))
        lines.append(
            f"{result.group}: {flagged.height} disparities outside {report.options.fairness.band}"
        )
        for row in rows(flagged.sort("disparity").head(limit)):
            lines.append(
                f"  {row['group']}: {row['metric']} {row['value']:.3g} vs {row['reference']} "
                f"{row['reference_value']:.3g} (ratio {row['disparity']:.2f})"
            )
    if report.coverage is not None:
        unreached = report.coverage.table.filter(pl.col("possibly_unreached"))
        lines.append(f"coverage: {unreached.height} areas possibly unreached")
        for row in rows(unreached.head(limit)):
            channels = row["channels"] or "no channel data"
            lines.append(f"  {row['area']}: {row['rate_per_1000']:.2f} per 1,000 ({channels})")
    return lines

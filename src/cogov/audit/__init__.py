"""Audits: efficiency, fairness and the digital divide, coverage against the
population, and responsibility reports. Audits read history; they never write
to a live case.

Compute on a case frame (:mod:`cogov.audit.frame`) filled from a file
(:func:`read_cases`) or the live database (:mod:`cogov.audit.live`).
"""

from cogov.audit.coverage import (
    CoverageResult,
    area_key,
    coverage,
    population_table,
    read_population,
)
from cogov.audit.efficiency import EfficiencyResult, efficiency
from cogov.audit.errors import AuditError, BadColumn, BadInput, MissingColumn, UnknownGroup
from cogov.audit.fairness import DISPARITY_BAND, FairnessOptions, FairnessResult, fairness
from cogov.audit.files import (
    PRESETS,
    ColumnMap,
    Preset,
    frame_from_table,
    preset,
    read_cases,
    read_targets,
)
from cogov.audit.frame import CASE_COLUMNS, CaseFrame, OnTimeRule, case_frame, derive
from cogov.audit.live import cases_in_period, frame_from_database
from cogov.audit.metrics import FAIRNESS_METRICS, Metric
from cogov.audit.report import AuditOptions, AuditReport, run_audit, summary_lines, write_outputs
from cogov.audit.responsibility import (
    ProposalReport,
    responsibility_for_case,
    responsibility_for_period,
)
from cogov.audit.rules import Finding, GradeDuties, Party, ProposalFacts, attribute

__all__ = [
    "CASE_COLUMNS",
    "DISPARITY_BAND",
    "FAIRNESS_METRICS",
    "PRESETS",
    "AuditError",
    "AuditOptions",
    "AuditReport",
    "BadColumn",
    "BadInput",
    "CaseFrame",
    "ColumnMap",
    "CoverageResult",
    "EfficiencyResult",
    "FairnessOptions",
    "FairnessResult",
    "Finding",
    "GradeDuties",
    "Metric",
    "MissingColumn",
    "OnTimeRule",
    "Party",
    "Preset",
    "ProposalFacts",
    "ProposalReport",
    "UnknownGroup",
    "area_key",
    "attribute",
    "case_frame",
    "cases_in_period",
    "coverage",
    "derive",
    "efficiency",
    "fairness",
    "frame_from_database",
    "frame_from_table",
    "population_table",
    "preset",
    "read_cases",
    "read_population",
    "read_targets",
    "responsibility_for_case",
    "responsibility_for_period",
    "run_audit",
    "summary_lines",
    "write_outputs",
]

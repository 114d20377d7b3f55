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
from cogov.audit.metrics import FAIRNESS_METRICS, Metric
from cogov.audit.report import AuditOptions, AuditReport, run_audit, summary_lines, write_outputs

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
    "Metric",
    "MissingColumn",
    "OnTimeRule",
    "Preset",
    "UnknownGroup",
    "area_key",
    "case_frame",
    "coverage",
    "derive",
    "efficiency",
    "fairness",
    "frame_from_table",
    "population_table",
    "preset",
    "read_cases",
    "read_population",
    "read_targets",
    "run_audit",
    "summary_lines",
    "write_outputs",
]

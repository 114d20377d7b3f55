"""cogov.registry: filings of digital employees, their grading, guardians, the
deployment gate and the public register.

The pipeline calls :func:`gate` before an agent acts and reads the grade's
:class:`Obligations`; the web pages read :func:`public_register`; the sandbox
calls :func:`attach_sandbox_report` once a report is approved.
"""

from cogov.registry.errors import (
    AgentNotFound,
    ConcurrentFiling,
    FilingInvalid,
    InvalidRegistryInput,
    NotPermitted,
    ProhibitedUseRefused,
    RefusalRecorded,
    RegistryError,
    SandboxReportMissing,
    TransitionRefused,
    UnchangedFiling,
    VersionNotFound,
)
from cogov.registry.exports import EXPORT_FORMATS, export_register, export_schema
from cogov.registry.filing_file import (
    load_filing_file,
    load_filing_text,
    parse_filing,
    read_yaml_file,
)
from cogov.registry.gate import gate
from cogov.registry.grading import Assessment, assess, load_questionnaire
from cogov.registry.obligations import Obligations, obligations_for
from cogov.registry.prohibited import Finding, ProhibitedUse, detect_prohibited
from cogov.registry.rules import FilingStatus
from cogov.registry.schemas import (
    ActivePeriod,
    AgentRead,
    FilingDocument,
    FilingRead,
    GateDecision,
    HistoryEvent,
    PublicRegisterEntry,
)
from cogov.registry.service import (
    activate,
    active_periods,
    agents_for_service,
    agents_guarded_by,
    approve,
    assign_guardians,
    attach_sandbox_report,
    file_agent,
    get_agent,
    get_filing,
    grade_answers,
    guardian_problems,
    history,
    list_agents,
    list_filings,
    pause_agent,
    public_register,
    resume_agent,
    retire,
    submit,
    suspend,
)

__all__ = [
    "EXPORT_FORMATS",
    "ActivePeriod",
    "AgentNotFound",
    "AgentRead",
    "Assessment",
    "ConcurrentFiling",
    "FilingDocument",
    "FilingInvalid",
    "FilingRead",
    "FilingStatus",
    "Finding",
    "GateDecision",
    "HistoryEvent",
    "InvalidRegistryInput",
    "NotPermitted",
    "Obligations",
    "ProhibitedUse",
    "ProhibitedUseRefused",
    "PublicRegisterEntry",
    "RefusalRecorded",
    "RegistryError",
    "SandboxReportMissing",
    "TransitionRefused",
    "UnchangedFiling",
    "VersionNotFound",
    "activate",
    "active_periods",
    "agents_for_service",
    "agents_guarded_by",
    "approve",
    "assess",
    "assign_guardians",
    "attach_sandbox_report",
    "detect_prohibited",
    "export_register",
    "export_schema",
    "file_agent",
    "gate",
    "get_agent",
    "get_filing",
    "grade_answers",
    "guardian_problems",
    "history",
    "list_agents",
    "list_filings",
    "load_filing_file",
    "load_filing_text",
    "load_questionnaire",
    "obligations_for",
    "parse_filing",
    "pause_agent",
    "public_register",
    "read_yaml_file",
    "resume_agent",
    "retire",
    "submit",
    "suspend",
]

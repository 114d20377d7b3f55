"""One case through intake, the registry's gate, triage, control, review and the
ledger (DESIGN.md, "The walk of one case"), singly or in batches."""

from cogov.pipeline.deployment import Deployment, engine_features
from cogov.pipeline.walk import (
    AgentRun,
    BatchItem,
    BatchReport,
    CaseOutcome,
    PreparesBatch,
    process,
    process_batch,
)

__all__ = [
    "AgentRun",
    "BatchItem",
    "BatchReport",
    "CaseOutcome",
    "Deployment",
    "PreparesBatch",
    "engine_features",
    "process",
    "process_batch",
]

"""cogov.triage: the digital employees' engines and their explanations (see DESIGN.md).

Other packages use these names; everything else here is internal.
"""

from cogov.triage.classifier import (
    Predictions,
    TrainedEngine,
    TrainingOptions,
    load_engine,
    train,
)
from cogov.triage.errors import (
    BackendFailed,
    BackendUnavailable,
    ModelFileError,
    ModelIntegrityError,
    TriageError,
    TriageInputError,
)
from cogov.triage.evaluation import EvalReport, evaluate
from cogov.triage.history import History, read_history
from cogov.triage.protocol import (
    ActionKind,
    CaseView,
    EngineIdentity,
    Evidence,
    EvidenceKind,
    Explanation,
    Proposal,
    TriageEngine,
)

__all__ = [
    "ActionKind",
    "BackendFailed",
    "BackendUnavailable",
    "CaseView",
    "EngineIdentity",
    "EvalReport",
    "Evidence",
    "EvidenceKind",
    "Explanation",
    "History",
    "ModelFileError",
    "ModelIntegrityError",
    "Predictions",
    "Proposal",
    "TrainedEngine",
    "TrainingOptions",
    "TriageEngine",
    "TriageError",
    "TriageInputError",
    "evaluate",
    "load_engine",
    "read_history",
    "train",
]

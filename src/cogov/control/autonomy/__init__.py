"""cogov.control.autonomy: each agent's autonomy level (0 suggest only ... 3 acts
alone within its rules), capped by its grade, lowered at once by the controller
when its recent decisions breach a threshold, raised only with its guardian's
sign-off. ``current_level`` is what routing reads."""

from cogov.control.autonomy.errors import (
    AutonomyError,
    InvalidAutonomyInput,
    LowerRefused,
    NotTheGuardian,
    RaiseRefused,
)
from cogov.control.autonomy.rules import AutonomyLevel, Thresholds
from cogov.control.autonomy.schemas import (
    AutonomyChangeRead,
    AutonomyPolicy,
    AutonomyRead,
    Evaluation,
)
from cogov.control.autonomy.service import (
    current_level,
    evaluate,
    evaluate_all,
    get_autonomy,
    lower_level,
    raise_level,
)
from cogov.control.autonomy.standing import (
    AutonomyStanding,
    RegisterEntryWithAutonomy,
    public_standing,
    register_with_autonomy,
)

__all__ = [
    "AutonomyChangeRead",
    "AutonomyError",
    "AutonomyLevel",
    "AutonomyPolicy",
    "AutonomyRead",
    "AutonomyStanding",
    "Evaluation",
    "InvalidAutonomyInput",
    "LowerRefused",
    "NotTheGuardian",
    "RaiseRefused",
    "RegisterEntryWithAutonomy",
    "Thresholds",
    "current_level",
    "evaluate",
    "evaluate_all",
    "get_autonomy",
    "lower_level",
    "public_standing",
    "raise_level",
    "register_with_autonomy",
]

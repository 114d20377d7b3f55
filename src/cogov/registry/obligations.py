"""What a grade obliges: data the pipeline and the control layer read (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from cogov.core.types import Grade


@dataclass(frozen=True, slots=True)
class Obligations:
    """Obligations of an agent of one grade.

    grade I: may act alone within its negative list. II: alone above its confidence
    threshold, with a share of cases sampled for human review. III: a human
    approves every decision that affects a citizen. IV: suggestion only; a human
    decides. III and IV need an approved sandbox report before activation.
    """

    grade: Grade
    may_act_alone: bool
    needs_confidence_above_threshold: bool
    review_sample_rate: float  # share of autonomously applied outputs sent to a human
    human_approves_citizen_affecting: bool
    suggest_only: bool
    max_autonomy_level: int  # 0 (suggest only) ... 3 (acts alone), the cap for control
    needs_sandbox_report: bool
    summary_en: str
    summary_zh: str

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["grade"] = self.grade.value
        return data


_OBLIGATIONS = {
    Grade.I: Obligations(
        grade=Grade.I,
        may_act_alone=True,
        needs_confidence_above_threshold=False,
        review_sample_rate=0.0,
        human_approves_citizen_affecting=False,
        suggest_only=False,
        max_autonomy_level=3,
        needs_sandbox_report=False,
        summary_en="May act on its own within its negative list; people can review any step.",
        summary_zh="可在负面清单范围内自主处理；任何环节均可由人工复核。",
    ),
    Grade.II: Obligations(
        grade=Grade.II,
        may_act_alone=True,
        needs_confidence_above_threshold=True,
        review_sample_rate=0.1,
        human_approves_citizen_affecting=False,
        suggest_only=False,
        max_autonomy_level=2,
        needs_sandbox_report=False,
        summary_en="Acts on its own only when confident enough; below that a person decides, "
        "and people check a sample of what it does alone.",
        summary_zh="仅在置信度足够高时自主处理；否则由人工决定，并由人工抽查其自主处理的案件。",
    ),
    Grade.III: Obligations(
        grade=Grade.III,
        may_act_alone=False,
        needs_confidence_above_threshold=True,
        review_sample_rate=1.0,
        human_approves_citizen_affecting=True,
        suggest_only=False,
        max_autonomy_level=1,
        needs_sandbox_report=True,
        summary_en="A person approves every decision that affects you before it takes effect.",
        summary_zh="凡影响您的决定，均须经人工批准后才生效。",
    ),
    Grade.IV: Obligations(
        grade=Grade.IV,
        may_act_alone=False,
        needs_confidence_above_threshold=True,
        review_sample_rate=1.0,
        human_approves_citizen_affecting=True,
        suggest_only=True,
        max_autonomy_level=0,
        needs_sandbox_report=True,
        summary_en="Only makes suggestions; a person makes every decision.",
        summary_zh="仅提供建议；所有决定均由人工作出。",
    ),
}


def obligations_for(grade: Grade | str) -> Obligations:
    """The obligations of ``grade`` (a Grade or its name, "I" ... "IV")."""
    return _OBLIGATIONS[Grade(grade)]

"""What a grade obliges: data (data/obligations.yaml) the pipeline and the control
layer read (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from importlib import resources
from typing import Any

import yaml

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


def _load(data: Mapping[str, Any]) -> dict[Grade, Obligations]:
    """One Obligations per grade from the shipped table; a missing grade, a missing
    or unknown field, or a value of the wrong type is a packaging error, found at import."""
    names = {f.name: f.type for f in fields(Obligations) if f.name != "grade"}
    kinds: dict[str, type | tuple[type, ...]] = {
        "bool": bool,
        "float": (int, float),
        "int": int,
        "str": str,
    }
    table: dict[Grade, Obligations] = {}
    for grade in Grade:
        entry = data.get(grade.value)
        if not isinstance(entry, dict) or set(entry) != set(names):
            raise ValueError(
                f"obligations.yaml: grade {grade.value} must give exactly {sorted(names)}"
            )
        for name, kind in names.items():
            value = entry[name]
            if isinstance(value, bool) != (kind == "bool") or not isinstance(
                value, kinds[str(kind)]
            ):
                raise ValueError(f"obligations.yaml: {grade.value}.{name} must be a {kind}")
        table[grade] = Obligations(grade=grade, **entry)
    return table


_OBLIGATIONS = _load(
    yaml.safe_load(
        resources.files("cogov.registry").joinpath("data/obligations.yaml").read_text("utf-8")
    )
)


def obligations_for(grade: Grade | str) -> Obligations:
    """The obligations of ``grade`` (a Grade or its name, "I" ... "IV")."""
    return _OBLIGATIONS[Grade(grade)]

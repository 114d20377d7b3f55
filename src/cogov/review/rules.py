"""Pure rules of review: reason codes, what a decision must carry, who may work
an item, when an item is overdue, and who took part in a decision (and so may not
hear its appeal). Plain values in and out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cogov.core.text import control_character_problem

NOTE_MAX = 4_000
CODE_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"


class Decision(StrEnum):
    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"

    @property
    def past(self) -> str:
        """The word stored and shown: approved, edited, rejected."""
        return {"approve": "approved", "edit": "edited", "reject": "rejected"}[self.value]


class ItemState(StrEnum):
    QUEUED = "queued"  # waits for a reviewer (or an abandoned claim lapsed)
    CLAIMED = "claimed"  # a reviewer holds it until claim_expires_at
    DECIDED = "decided"  # final
    # Closed undecided: its proposal was cancelled (the case was merged into another).
    CANCELLED = "cancelled"


class AppealOutcome(StrEnum):
    UPHELD = "upheld"  # the original decision was wrong
    DISMISSED = "dismissed"  # the original decision stands


class AppealState(StrEnum):
    FILED = "filed"
    DECIDED = "decided"


class _Label(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    en: str = Field(min_length=1, max_length=200)
    zh: str = Field(min_length=1, max_length=200)


class ReasonCode(BaseModel):
    """One reason a reviewer may give, with its bilingual label."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=CODE_PATTERN)
    applies_to: frozenset[Decision] = Field(min_length=1)
    label: _Label
    needs_note: bool = False


class ReasonCodes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    codes: tuple[ReasonCode, ...] = Field(min_length=1)

    @field_validator("codes")
    @classmethod
    def _unique(cls, codes: tuple[ReasonCode, ...]) -> tuple[ReasonCode, ...]:
        seen: set[str] = set()
        for item in codes:
            if item.code in seen:
                raise ValueError(f"code {item.code!r} appears twice")
            seen.add(item.code)
        if "other" not in seen:
            raise ValueError("a code 'other' is required, so every reason can be given")
        return codes

    def get(self, code: str) -> ReasonCode | None:
        return next((item for item in self.codes if item.code == code), None)

    def for_decision(self, decision: Decision) -> list[ReasonCode]:
        return [item for item in self.codes if decision in item.applies_to]


def parse_reason_codes(data: Any) -> ReasonCodes:
    """Reason codes from parsed YAML; raises ValueError naming the field at fault."""
    try:
        return ReasonCodes.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "codes"
        raise ValueError(f"{where}: {str(first['msg']).removeprefix('Value error, ')}") from None


@dataclass(frozen=True, slots=True)
class CheckedDecision:
    decision: Decision
    reason_code: str | None
    note: str | None
    new_value: str | None


def check_decision(
    decision: str,
    *,
    reason_code: str | None,
    note: str | None,
    new_value: str | None,
    proposed_value: str,
    codes: ReasonCodes,
) -> CheckedDecision:
    """The decision as it will be stored, or ValueError("field: reason").

    Edit and reject need a reason code; a code marked ``needs_note`` (and "other")
    needs the reviewer's own words; an edit needs a new value that differs from
    the proposal; approve and reject take no new value."""
    try:
        chosen = Decision(decision)
    except ValueError:
        raise ValueError(
            f"decision: {decision!r} is not one of {', '.join(d.value for d in Decision)}"
        ) from None
    code = (reason_code or "").strip() or None
    text = (note or "").strip() or None
    if code is None:
        if chosen is not Decision.APPROVE:
            known = ", ".join(item.code for item in codes.for_decision(chosen))
            raise ValueError(f"reason_code: a reason is required to {chosen.value} ({known})")
    else:
        entry = codes.get(code)
        if entry is None:
            raise ValueError(f"reason_code: {code!r} is not a known reason code")
        if chosen not in entry.applies_to:
            allowed = ", ".join(sorted(d.value for d in entry.applies_to))
            raise ValueError(f"reason_code: {code!r} explains only: {allowed}")
        if entry.needs_note and text is None:
            raise ValueError(f"note: reason {code!r} needs a few words saying why")
    text = check_text("note", note, required=False)  # after the code: it says what is missing
    if new_value is not None and (problem := control_character_problem(new_value)):
        raise ValueError(f"new_value: {problem}")  # e.g. a reply the reviewer rewrote
    value = new_value.strip() if new_value is not None else None
    if chosen is Decision.EDIT:
        if not value:
            raise ValueError("new_value: an edit needs the value the reviewer chose")
        if value == proposed_value:
            raise ValueError("new_value: is the value proposed; approve it instead")
    elif value is not None and value != proposed_value:
        raise ValueError(f"new_value: only an edit takes a new value, not {chosen.value}")
    return CheckedDecision(
        decision=chosen,
        reason_code=code,
        note=text,
        new_value=value if chosen is Decision.EDIT else None,
    )


def may_work(
    username: str,
    *,
    team: str,
    guardian: str,
    backup_guardian: str,
    escalated_to: str | None,
    teams_of_user: Iterable[str],
) -> str | None:
    """Why ``username`` may not work an item, or None when they may. Once an item
    is escalated, only the backup guardian it was escalated to works it."""
    if escalated_to is not None:
        if username == escalated_to:
            return None
        return f"it was escalated to the backup guardian {escalated_to!r}"
    if username in (guardian, backup_guardian) or team in set(teams_of_user):
        return None
    return f"not a member of team {team!r} and not the agent's guardian or backup guardian"


def claim_is_live(state: str, claim_expires_at: str | None, now: str) -> bool:
    """A claim counts until it lapses; a lapsed claim leaves the item open to others."""
    return state == ItemState.CLAIMED and claim_expires_at is not None and claim_expires_at > now


def needs_escalation(
    *, state: str, deadline: str, claim_expires_at: str | None, escalated_to: str | None, now: str
) -> bool:
    """Past its deadline, undecided, not already escalated, and nobody is working it
    (unclaimed, or claimed and abandoned). Such an item goes to the backup guardian;
    it is never applied by default."""
    if state == ItemState.DECIDED or escalated_to is not None or deadline > now:
        return False
    return not claim_is_live(state, claim_expires_at, now)


def participants(
    *,
    decided_by: str | None,
    claimers: Sequence[str],
    guardian: str | None,
    backup_guardian: str | None,
    escalated_to: str | None,
) -> dict[str, str]:
    """Everyone who took part in a decision, with their part. None of them may hear
    its appeal: the reviewer who decided, anyone who held the item, and the agent's
    guardians (who answer for the agent's decisions)."""
    parts: dict[str, str] = {}

    def add(user: str | None, part: str) -> None:
        if user and user not in parts:
            parts[user] = part

    add(decided_by, "decided it")
    for user in claimers:
        add(user, "claimed it for review")
    add(escalated_to, "it was escalated to them")
    add(guardian, "guardian of the agent")
    add(backup_guardian, "backup guardian of the agent")
    return parts


def conflict_of_interest(username: str, excluded: Mapping[str, str]) -> str | None:
    return excluded.get(username)


def check_text(
    field: str, value: str | None, *, required: bool, limit: int = NOTE_MAX
) -> str | None:
    """Trimmed free text, or ValueError("field: reason"). Control characters other
    than tab, LF and CR are refused (cogov.core.text's one rule)."""
    problem = control_character_problem(value or "")
    if problem is not None:
        raise ValueError(f"{field}: {problem}")
    text = (value or "").strip()
    if not text:
        if required:
            raise ValueError(f"{field}: is required (say why)")
        return None
    if len(text) > limit:
        raise ValueError(f"{field}: is longer than {limit} characters")
    return text

"""The routing decision, as a pure function of plain values: may this proposal
take effect without a human? Property-tested in tests/control/test_rules.py.

The checks, from the most to the least severe; the first that speaks decides,
and every one that speaks is kept as a reason:

1. the negative list denies it                       -> deny   (a human sees it)
2. the standard process does not let an agent do it  -> review
3. the negative list requires a human                -> review
4. the grade's obligations (suggest only; a human approves what affects a citizen)
                                                     -> review
5. the agent's autonomy level is below what the action needs -> review
6. the confidence is below the threshold             -> review
7. the case falls in the review sample (grade's, or a supervised agent's) -> review
otherwise                                            -> apply

Each check carries a stable ``code`` and its ``params`` besides its English
``reason``, so a page can say it in its reader's language (the web's catalogue
words each code); the English reason stays the record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from cogov.control.negative_list import RuleHit, RuleVerdict

SUPERVISED_LEVEL = 2  # cogov.control.autonomy's AutonomyLevel.SUPERVISED

# A check's parameter: plain values a page formats in its own language.
Param = str | int | float


class CheckCode(StrEnum):
    """What a check found, stable across releases (pages translate by it)."""

    RULE = "rule"  # a negative-list rule (its reason is bilingual in the list)
    RULE_FAILED = "rule_failed"  # a rule could not be evaluated: fail closed
    PROCESS_NO_ACTION = "process_no_action"  # params: process, action, state
    PROCESS_NO_PATH = "process_no_path"  # params: process, actor, state, target
    PRIORITY_UNKNOWN = "priority_unknown"  # params: value, allowed
    DUPLICATE_OF_ITSELF = "duplicate_of_itself"
    DUPLICATE_UNKNOWN = "duplicate_unknown"  # params: value
    DUPLICATE_OF_MERGED = "duplicate_of_merged"  # params: value, root
    VALUE_EMPTY = "value_empty"
    SUGGEST_ONLY = "suggest_only"
    HUMAN_APPROVES_CITIZEN_AFFECTING = "human_approves_citizen_affecting"
    AUTONOMY_BELOW = "autonomy_below"  # params: action, needed, level
    BELOW_THRESHOLD = "below_threshold"  # params: confidence, threshold
    SAMPLED = "sampled"  # params: rate
    WITHIN_LIMITS = "within_limits"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the process (or the proposal's value) does not let it take effect: a
    code and its parameters for pages, and the English reason for the record."""

    code: CheckCode
    reason: str
    params: Mapping[str, Param] = field(default_factory=dict, hash=False)


class Verdict(StrEnum):
    APPLY = "apply"
    REVIEW = "review"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Obligations:
    """What the agent's grade obliges (from the registry's gate)."""

    suggest_only: bool = False
    human_approves_citizen_affecting: bool = False
    review_sample_rate: float = 0.0
    max_autonomy_level: int = 3

    def __post_init__(self) -> None:
        if not 0.0 <= self.review_sample_rate <= 1.0:
            raise ValueError("review_sample_rate: must be within [0, 1]")
        if not 0 <= self.max_autonomy_level <= 3:
            raise ValueError("max_autonomy_level: must be 0-3")


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """The deployer's routing settings (routing.yaml)."""

    action_levels: Mapping[str, int]
    citizen_affecting: frozenset[str]
    threshold_floor: Mapping[str, float] = field(default_factory=dict)
    order: tuple[str, ...] = ()
    supervised_sample_rate: float = 0.0

    def sample_rate(self, obligations: Obligations, level: int) -> float:
        """The share of cases sampled for review: the grade's, and more for a
        supervised (level 2) agent."""
        extra = self.supervised_sample_rate if level == SUPERVISED_LEVEL else 0.0
        return max(obligations.review_sample_rate, extra)

    def level_needed(self, action: str) -> int:
        # An action the policy does not name is never applied alone.
        return self.action_levels.get(action, 4)

    def threshold(self, action: str, engine_threshold: float) -> float:
        return max(engine_threshold, self.threshold_floor.get(action, 0.0))

    def rank(self, action: str) -> int:
        return self.order.index(action) if action in self.order else len(self.order)


@dataclass(frozen=True, slots=True)
class Check:
    """One check that spoke: where it comes from, its id, and what it asked for."""

    source: str  # rule | process | obligation | autonomy | threshold | sample | routing
    id: str
    verdict: Verdict
    reason: str  # in English: the record
    code: CheckCode
    params: Mapping[str, Param] = field(default_factory=dict, hash=False)

    @property
    def ref(self) -> str:
        return f"{self.source}:{self.id}"


@dataclass(frozen=True, slots=True)
class RoutingInput:
    action: str
    confidence: float
    engine_threshold: float
    obligations: Obligations
    autonomy_level: int
    rule_hits: Sequence[RuleHit] = ()
    # None when the process lets an agent do this now; else why not.
    process_refusal: Refusal | None = None
    process_id: str = "standard"
    # A number in [0, 1) fixed for this proposal: below the sample rate -> sampled.
    sample_draw: float = 1.0


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    verdict: Verdict
    decided_by: str  # the ref of the check that decided: "rule:<id>", "obligation:<name>", ...
    threshold: float  # the threshold in force for this proposal
    autonomy_level: int  # the level in force (the agent's, capped by its grade)
    checks: tuple[Check, ...]


def decide(routing: RoutingInput, policy: RoutingPolicy) -> RoutingDecision:
    """Apply, review or deny one proposal. Never raises for any input."""
    checks: list[Check] = []
    for hit in routing.rule_hits:
        if hit.verdict is RuleVerdict.DENY:
            checks.append(Check("rule", hit.rule_id, Verdict.DENY, hit.reason.en, CheckCode.RULE))
    refusal = routing.process_refusal
    if refusal is not None:
        checks.append(
            Check(
                "process",
                routing.process_id,
                Verdict.REVIEW,
                refusal.reason,
                refusal.code,
                refusal.params,
            )
        )
    for hit in routing.rule_hits:
        if hit.verdict is RuleVerdict.REQUIRE_HUMAN:
            if hit.error is None:
                check = Check("rule", hit.rule_id, Verdict.REVIEW, hit.reason.en, CheckCode.RULE)
            else:
                check = Check(
                    "rule",
                    hit.rule_id,
                    Verdict.REVIEW,
                    f"rule failed: {hit.error}",
                    CheckCode.RULE_FAILED,
                    {"error": hit.error},
                )
            checks.append(check)

    obligations = routing.obligations
    if obligations.suggest_only:
        checks.append(
            Check(
                "obligation",
                "suggest_only",
                Verdict.REVIEW,
                "the grade lets it only suggest",
                CheckCode.SUGGEST_ONLY,
            )
        )
    if obligations.human_approves_citizen_affecting and routing.action in policy.citizen_affecting:
        checks.append(
            Check(
                "obligation",
                "human_approves_citizen_affecting",
                Verdict.REVIEW,
                "the grade needs a human to approve what affects a citizen",
                CheckCode.HUMAN_APPROVES_CITIZEN_AFFECTING,
            )
        )
    level = max(0, min(routing.autonomy_level, obligations.max_autonomy_level))
    needed = policy.level_needed(routing.action)
    if level < needed:
        checks.append(
            Check(
                "autonomy",
                f"level_{level}",
                Verdict.REVIEW,
                f"{routing.action} needs autonomy level {needed}; the agent has {level}",
                CheckCode.AUTONOMY_BELOW,
                {"action": routing.action, "needed": needed, "level": level},
            )
        )
    threshold = policy.threshold(routing.action, routing.engine_threshold)
    if not routing.confidence >= threshold:  # also catches NaN
        checks.append(
            Check(
                "threshold",
                routing.action,
                Verdict.REVIEW,
                f"confidence {routing.confidence:.3f} is below the threshold {threshold:.3f}",
                CheckCode.BELOW_THRESHOLD,
                {"confidence": routing.confidence, "threshold": threshold},
            )
        )
    rate = policy.sample_rate(obligations, level)
    if routing.sample_draw < rate:
        source = "obligation" if rate == obligations.review_sample_rate else "autonomy"
        checks.append(
            Check(
                source,
                "review_sample_rate" if source == "obligation" else "supervised_sample",
                Verdict.REVIEW,
                f"sampled for human review ({rate:.0%} of cases)",
                CheckCode.SAMPLED,
                {"rate": rate},
            )
        )
    if checks:
        return RoutingDecision(checks[0].verdict, checks[0].ref, threshold, level, tuple(checks))
    within = Check(
        "routing",
        "within_limits",
        Verdict.APPLY,
        "within the agent's limits",
        CheckCode.WITHIN_LIMITS,
    )
    return RoutingDecision(Verdict.APPLY, within.ref, threshold, level, (within,))


def sample_draw(key: str) -> float:
    """A number in [0, 1) fixed by ``key``: the same proposal is always sampled the
    same way, and the sample cannot be steered by the order cases arrive in."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64

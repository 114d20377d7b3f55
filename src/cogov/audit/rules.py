"""Responsibility rules: which part failed on a wrong decision, and who answers.

Pure functions over plain values (gathered from the ledger, the control records
and the registry filing by :mod:`cogov.audit.responsibility`), so every rule can
be property-tested. A decision is *wrong* when a human overrode the agent's
proposal (edited or rejected it) or a citizen's appeal against it was upheld.

The rules (docs/audit.md):

- deployer, grade: the proposal took effect without a human although the grade
  on the filing requires one for this action (suggestion only, or a human
  approves what affects a citizen).
- deployer, threshold: it took effect without a human with a threshold in force
  looser than the one filed, or with a confidence below the threshold in force.
- data: the input was unlike the training data (no similar past case at or above
  the similarity limit), or the case's group is thin in the training data.
- developer: the model was confident (at or above its threshold) and wrong on
  input like its training data.
- operator: a reviewer approved the wrong proposal as it was.

Several parts can fail at once; each finding cites the ledger entries it rests on.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

#: Actions that change what a citizen gets (the shipped routing policy's list);
#: a grade that needs a human for citizen-affecting decisions needs one for these.
CITIZEN_AFFECTING: Final = frozenset({"route", "prioritise", "mark_duplicate", "draft_reply"})
#: Below this similarity to the nearest training case, input counts as unlike the training data.
DEFAULT_SIMILARITY_LIMIT: Final = 0.3
#: A group with a smaller share of the training data than this is thin in it.
DEFAULT_MIN_GROUP_SHARE: Final = 0.02


class Party(StrEnum):
    DEVELOPER = "developer"
    DATA = "data"
    DEPLOYER = "deployer"
    OPERATOR = "operator"


@dataclass(frozen=True)
class GradeDuties:
    """What the filed grade demands (from the registry's obligations)."""

    grade: str | None = None
    may_act_alone: bool = True
    suggest_only: bool = False
    human_approves_citizen_affecting: bool = False

    def requires_human(
        self, action: str, citizen_affecting: Collection[str] = CITIZEN_AFFECTING
    ) -> bool:
        if self.suggest_only or not self.may_act_alone:
            return True
        return self.human_approves_citizen_affecting and action in citizen_affecting


@dataclass(frozen=True)
class ProposalFacts:
    """Everything the rules need about one proposal, as plain values.

    ``*_seq`` are ledger sequence numbers (None: no such entry). ``outcome`` is
    what happened to it: applied (by the agent), approved, edited or rejected (by
    a human), or None while pending. ``similarity``: the highest similarity of the
    input to a training case the engine reported (None: not reported).
    ``group_share``: the smallest share in the training data of any group the case
    belongs to (None: unknown)."""

    case_id: str
    proposal_id: str
    action: str
    confidence: float
    threshold_in_force: float | None
    filed_threshold: float | None
    outcome: str | None
    duties: GradeDuties = field(default_factory=GradeDuties)
    reviewer: str | None = None
    appeal_upheld: bool = False
    similarity: float | None = None
    group_share: float | None = None
    group_label: str | None = None
    developer: str | None = None
    deployer: str | None = None
    guardian: str | None = None
    proposal_seq: int | None = None
    verdict_seq: int | None = None
    applied_seq: int | None = None
    review_seq: int | None = None
    appeal_seq: int | None = None

    @property
    def overridden(self) -> bool:
        return self.outcome in ("edited", "rejected")

    @property
    def wrong(self) -> bool:
        return self.overridden or self.appeal_upheld

    @property
    def acted_alone(self) -> bool:
        return self.outcome == "applied"

    @property
    def wrong_seqs(self) -> tuple[int, ...]:
        """The entries that show the decision was wrong."""
        seqs = []
        if self.overridden and self.review_seq is not None:
            seqs.append(self.review_seq)
        if self.appeal_upheld and self.appeal_seq is not None:
            seqs.append(self.appeal_seq)
        return tuple(seqs)


@dataclass(frozen=True)
class Finding:
    party: Party
    who: str | None
    rule: str
    reason: str
    ledger_seqs: tuple[int, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "party": self.party.value,
            "who": self.who,
            "rule": self.rule,
            "reason": self.reason,
            "ledger_seqs": list(self.ledger_seqs),
        }


def _cite(*seqs: int | None) -> tuple[int, ...]:
    return tuple(sorted({seq for seq in seqs if seq is not None}))


def deployer_findings(
    facts: ProposalFacts, citizen_affecting: Collection[str] = CITIZEN_AFFECTING
) -> list[Finding]:
    if not (facts.wrong and facts.acted_alone):
        return []
    out = []
    cite = _cite(facts.verdict_seq, facts.applied_seq, *facts.wrong_seqs)
    if facts.duties.requires_human(facts.action, citizen_affecting):
        out.append(
            Finding(
                Party.DEPLOYER,
                facts.deployer,
                "deployer.grade",
                f"the configuration let the agent {facts.action} alone where its grade "
                f"{facts.duties.grade or '(unknown)'} requires a human",
                cite,
            )
        )
    if (
        facts.filed_threshold is not None
        and facts.threshold_in_force is not None
        and facts.threshold_in_force < facts.filed_threshold
    ):
        out.append(
            Finding(
                Party.DEPLOYER,
                facts.deployer,
                "deployer.threshold",
                f"the threshold in force ({facts.threshold_in_force:.2f}) was looser than the "
                f"filed {facts.filed_threshold:.2f}",
                cite,
            )
        )
    elif facts.threshold_in_force is not None and facts.confidence < facts.threshold_in_force:
        out.append(
            Finding(
                Party.DEPLOYER,
                facts.deployer,
                "deployer.threshold",
                f"the agent acted at confidence {facts.confidence:.2f}, below the threshold "
                f"in force ({facts.threshold_in_force:.2f})",
                cite,
            )
        )
    return out


def data_findings(
    facts: ProposalFacts,
    similarity_limit: float = DEFAULT_SIMILARITY_LIMIT,
    min_group_share: float = DEFAULT_MIN_GROUP_SHARE,
) -> list[Finding]:
    if not facts.wrong:
        return []
    out = []
    cite = _cite(facts.proposal_seq, *facts.wrong_seqs)
    if facts.similarity is not None and facts.similarity < similarity_limit:
        out.append(
            Finding(
                Party.DATA,
                facts.developer,
                "data.unlike_training",
                f"the input was unlike the training data (nearest past case similarity "
                f"{facts.similarity:.2f} < {similarity_limit:.2f})",
                cite,
            )
        )
    if facts.group_share is not None and facts.group_share < min_group_share:
        label = f" ({facts.group_label})" if facts.group_label else ""
        out.append(
            Finding(
                Party.DATA,
                facts.developer,
                "data.thin_group",
                f"the case's group{label} is thin in the training data "
                f"({facts.group_share:.1%} < {min_group_share:.0%})",
                cite,
            )
        )
    return out


def developer_findings(
    facts: ProposalFacts,
    similarity_limit: float = DEFAULT_SIMILARITY_LIMIT,
    min_group_share: float = DEFAULT_MIN_GROUP_SHARE,
) -> list[Finding]:
    """Confident and wrong on input like the training data: the model itself failed."""
    if not facts.wrong or facts.threshold_in_force is None:
        return []
    confident = facts.confidence >= facts.threshold_in_force
    familiar = facts.similarity is None or facts.similarity >= similarity_limit
    represented = facts.group_share is None or facts.group_share >= min_group_share
    if not (confident and familiar and represented):
        return []
    basis = (
        f"its nearest past case had similarity {facts.similarity:.2f}"
        if facts.similarity is not None
        else "no sign the input was unusual was recorded"
    )
    return [
        Finding(
            Party.DEVELOPER,
            facts.developer,
            "developer.confident_and_wrong",
            f"the model was confident ({facts.confidence:.2f} >= {facts.threshold_in_force:.2f}) "
            f"and wrong on input like its training data ({basis})",
            _cite(facts.proposal_seq, facts.verdict_seq, *facts.wrong_seqs),
        )
    ]


def operator_findings(facts: ProposalFacts) -> list[Finding]:
    """A reviewer approved, as it was, a proposal later found wrong on appeal."""
    if not (facts.outcome == "approved" and facts.appeal_upheld):
        return []
    return [
        Finding(
            Party.OPERATOR,
            facts.reviewer,
            "operator.approved_wrong",
            "a reviewer approved the proposal as it was, and an appeal against it was upheld",
            _cite(facts.review_seq, facts.appeal_seq),
        )
    ]


def attribute(
    facts: ProposalFacts,
    *,
    similarity_limit: float = DEFAULT_SIMILARITY_LIMIT,
    min_group_share: float = DEFAULT_MIN_GROUP_SHARE,
    citizen_affecting: Collection[str] = CITIZEN_AFFECTING,
) -> list[Finding]:
    """Every finding for one proposal (none when it was not wrong)."""
    return [
        *deployer_findings(facts, citizen_affecting),
        *data_findings(facts, similarity_limit, min_group_share),
        *developer_findings(facts, similarity_limit, min_group_share),
        *operator_findings(facts),
    ]

"""Responsibility reports from the live records: for one case, or for every
overridden proposal and upheld appeal in a period, which part failed and who
answers, each claim citing the ledger entries it rests on.

Facts come from the ledger (what happened, in order, and who was named
responsible at each step), control's proposal records (outcome, explanation),
and the registry filing (grade and filed threshold); the judgement is
:func:`cogov.audit.rules.attribute`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from cogov.audit.frame import CaseFrame
from cogov.audit.live import frame_from_database, upheld
from cogov.audit.rules import (
    DEFAULT_MIN_GROUP_SHARE,
    DEFAULT_SIMILARITY_LIMIT,
    Finding,
    GradeDuties,
    ProposalFacts,
    attribute,
)
from cogov.control import ProposalRead, proposals_for_case, proposals_for_cases
from cogov.core.errors import CogovError
from cogov.core.types import Grade
from cogov.intake import CaseNotFound, CaseRead, cases_by_ids, get_case
from cogov.ledger import LedgerEntryRead, entries_for_case, entries_for_cases
from cogov.registry import get_filing, obligations_for

#: The kinds of ledger entries a responsibility report reads.
READ_KINDS = (
    "case.received",
    "proposal.made",
    "control.verdict",
    "proposal.applied",
    "review.queued",
    "review.decided",
    "case.transitioned",
    "appeal.filed",
    "appeal.decided",
)


@dataclass(frozen=True)
class ProposalReport:
    facts: ProposalFacts
    findings: tuple[Finding, ...]

    def as_dict(self) -> dict[str, Any]:
        facts = self.facts
        return {
            "case_id": facts.case_id,
            "proposal_id": facts.proposal_id,
            "action": facts.action,
            "confidence": facts.confidence,
            "threshold_in_force": facts.threshold_in_force,
            "filed_threshold": facts.filed_threshold,
            "grade": facts.duties.grade,
            "outcome": facts.outcome,
            "appeal_upheld": facts.appeal_upheld,
            "wrong": facts.wrong,
            "findings": [finding.as_dict() for finding in self.findings],
            "ledger_seqs": sorted(
                {seq for finding in self.findings for seq in finding.ledger_seqs}
            ),
        }


def responsibility_for_case(
    session: Session,
    *,
    case_id: str,
    training_group_shares: Mapping[str, Mapping[str, float]] | None = None,
    similarity_limit: float = DEFAULT_SIMILARITY_LIMIT,
    min_group_share: float = DEFAULT_MIN_GROUP_SHARE,
) -> list[ProposalReport]:
    """One report per proposal of the case (findings empty where nothing was wrong).

    ``training_group_shares``: {attribute: {value: share of the training data}},
    e.g. from the filing's data sheet, to judge whether the case's group is thin."""
    case = get_case(session, case_id=case_id)
    return _case_reports(
        session,
        case,
        proposals_for_case(session, case_id=case_id),
        entries_for_case(session, case_id),
        filings={},
        training_group_shares=training_group_shares,
        similarity_limit=similarity_limit,
        min_group_share=min_group_share,
    )


def responsibility_for_period(
    session: Session,
    *,
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    frame: CaseFrame | None = None,
    training_group_shares: Mapping[str, Mapping[str, float]] | None = None,
    similarity_limit: float = DEFAULT_SIMILARITY_LIMIT,
    min_group_share: float = DEFAULT_MIN_GROUP_SHARE,
) -> list[ProposalReport]:
    """Reports for every overridden proposal and upheld appeal among the cases
    received in the period. ``frame``: the live case frame of that period when the
    caller has it already (only its overridden or upheld cases are looked at)."""
    if frame is None:
        frame = frame_from_database(session, received_from=received_from, received_to=received_to)
    suspects = (
        frame.data.filter(pl.col("overridden") | pl.col("appeal_upheld"))
        .get_column("case_id")
        .to_list()
    )
    # Three reads for all suspects (ids bound in batches), and each filing read once.
    cases = cases_by_ids(session, case_ids=suspects)
    proposals = proposals_for_cases(session, case_ids=suspects)
    entries = entries_for_cases(session, suspects)
    filings: dict[tuple[str, str], tuple[float | None, str | None]] = {}
    out = []
    for case_id in suspects:
        if case_id not in cases:
            raise CaseNotFound(case_id)  # as responsibility_for_case would
        for report in _case_reports(
            session,
            cases[case_id],
            proposals[case_id],
            entries[case_id],
            filings=filings,
            training_group_shares=training_group_shares,
            similarity_limit=similarity_limit,
            min_group_share=min_group_share,
        ):
            if report.facts.wrong:
                out.append(report)
    return out


def _case_reports(
    session: Session,
    case: CaseRead,
    proposals: Sequence[ProposalRead],
    entries: Sequence[LedgerEntryRead],
    *,
    filings: dict[tuple[str, str], tuple[float | None, str | None]],
    training_group_shares: Mapping[str, Mapping[str, float]] | None,
    similarity_limit: float,
    min_group_share: float,
) -> list[ProposalReport]:
    group_share, group_label = _thinnest_group(case.group_attributes, training_group_shares)
    reports = []
    for proposal in proposals:
        facts = gather_facts(
            session,
            proposal,
            entries,
            group_share=group_share,
            group_label=group_label,
            filings=filings,
        )
        findings = attribute(
            facts, similarity_limit=similarity_limit, min_group_share=min_group_share
        )
        reports.append(ProposalReport(facts, tuple(findings)))
    return reports


def gather_facts(
    session: Session,
    proposal: ProposalRead,
    entries: Sequence[LedgerEntryRead],
    *,
    group_share: float | None = None,
    group_label: str | None = None,
    filings: dict[tuple[str, str], tuple[float | None, str | None]] | None = None,
) -> ProposalFacts:
    """The plain facts about one proposal, from its ledger entries, its record and its filing.
    ``filings``: a cache of (filed threshold, grade) by (agent id, version) across calls."""
    mine = [entry for entry in entries if entry.payload.get("proposal_id") == proposal.id]
    made = _first(mine, "proposal.made")
    verdict = _first(mine, "control.verdict")
    applied = _first(mine, "proposal.applied")
    reviewed = _first(mine, "review.decided")
    appeal = next((entry for entry in mine if upheld(entry)), None)
    grade = str(verdict.payload.get("grade")) if verdict and verdict.payload.get("grade") else None
    key = (proposal.agent_id, proposal.agent_version)
    cache = {} if filings is None else filings
    if key not in cache:
        cache[key] = _filing(session, proposal)
    filed_threshold, filed_grade = cache[key]
    duties = _duties(filed_grade or grade)
    named = made or verdict or applied
    responsible = named.responsible if named else {}
    outcome = proposal.outcome.value if proposal.outcome is not None else None
    # Where the review package records no review.decided entry, control's own
    # proposal.applied by a human (or the decision time) is the human decision.
    review_seq = (
        reviewed.seq
        if reviewed
        else (applied.seq if applied and applied.payload.get("by") == "human" else None)
    )
    return ProposalFacts(
        case_id=proposal.case_id,
        proposal_id=proposal.id,
        action=proposal.action,
        confidence=proposal.confidence,
        threshold_in_force=_float(verdict.payload.get("threshold"))
        if verdict
        else proposal.threshold,
        filed_threshold=filed_threshold,
        outcome=outcome,
        duties=duties,
        reviewer=f"user:{proposal.reviewer_id}" if proposal.reviewer_id else None,
        appeal_upheld=appeal is not None,
        similarity=_similarity(proposal.explanation),
        group_share=group_share,
        group_label=group_label,
        developer=responsible.get("developer"),
        deployer=responsible.get("deployer"),
        guardian=responsible.get("guardian"),
        proposal_seq=made.seq if made else None,
        verdict_seq=verdict.seq if verdict else None,
        applied_seq=applied.seq if applied and applied.payload.get("by") != "human" else None,
        review_seq=review_seq,
        appeal_seq=appeal.seq if appeal else None,
    )


def _first(entries: Sequence[LedgerEntryRead], kind: str) -> LedgerEntryRead | None:
    return next((entry for entry in entries if entry.kind == kind), None)


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _filing(session: Session, proposal: ProposalRead) -> tuple[float | None, str | None]:
    """The filed threshold and grade of the agent version that proposed, if filed."""
    version = int(proposal.agent_version) if proposal.agent_version.isdigit() else None
    try:
        filing = get_filing(session, agent_id=proposal.agent_id, version=version)
    except CogovError:
        return None, None  # not filed in this registry: judge from the ledger alone
    return filing.document.confidence_threshold, filing.grade.value


def _duties(grade: str | None) -> GradeDuties:
    if grade is None or grade not in Grade.__members__.values():
        return GradeDuties(grade=grade)
    obligations = obligations_for(Grade(grade))
    return GradeDuties(
        grade=grade,
        may_act_alone=obligations.may_act_alone,
        suggest_only=obligations.suggest_only,
        human_approves_citizen_affecting=obligations.human_approves_citizen_affecting,
    )


def _similarity(explanation: Mapping[str, Any]) -> float | None:
    """The highest similarity to a past (training) case the engine reported."""
    weights = [
        float(item.get("weight", 0.0))
        for item in explanation.get("evidence", [])
        if isinstance(item, Mapping) and item.get("kind") == "similar_case"
    ]
    return max(weights) if weights else None


def _thinnest_group(
    attributes: Mapping[str, Any], shares: Mapping[str, Mapping[str, float]] | None
) -> tuple[float | None, str | None]:
    if not shares:
        return None, None
    known = [
        (shares[name][str(value).lower()], f"{name}={value}")
        for name, value in attributes.items()
        if name in shares and str(value).lower() in shares[name]
    ]
    return min(known) if known else (None, None)

"""Responsibility rules, property-tested over any facts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cogov.audit.rules import (
    DEFAULT_MIN_GROUP_SHARE,
    DEFAULT_SIMILARITY_LIMIT,
    GradeDuties,
    Party,
    ProposalFacts,
    attribute,
)

OUTCOMES = st.sampled_from([None, "applied", "approved", "edited", "rejected"])
SEQ = st.one_of(st.none(), st.integers(1, 10_000))
UNIT = st.floats(0, 1, allow_nan=False)

duties = st.builds(
    GradeDuties,
    grade=st.sampled_from(["I", "II", "III", "IV"]),
    may_act_alone=st.booleans(),
    suggest_only=st.booleans(),
    human_approves_citizen_affecting=st.booleans(),
)
facts_strategy = st.builds(
    ProposalFacts,
    case_id=st.just("c1"),
    proposal_id=st.just("p1"),
    action=st.sampled_from(["categorise", "route", "prioritise", "mark_duplicate", "draft_reply"]),
    confidence=UNIT,
    threshold_in_force=st.one_of(st.none(), UNIT),
    filed_threshold=st.one_of(st.none(), UNIT),
    outcome=OUTCOMES,
    duties=duties,
    reviewer=st.one_of(st.none(), st.just("user:ana")),
    appeal_upheld=st.booleans(),
    similarity=st.one_of(st.none(), UNIT),
    group_share=st.one_of(st.none(), UNIT),
    developer=st.just("dev-org"),
    deployer=st.just("config:abc"),
    proposal_seq=SEQ,
    verdict_seq=SEQ,
    applied_seq=SEQ,
    review_seq=SEQ,
    appeal_seq=SEQ,
)


def seqs_of(facts: ProposalFacts) -> set[int]:
    values = (
        facts.proposal_seq,
        facts.verdict_seq,
        facts.applied_seq,
        facts.review_seq,
        facts.appeal_seq,
    )
    return {seq for seq in values if seq is not None}


@given(facts_strategy)
def test_a_right_decision_blames_nobody(facts: ProposalFacts) -> None:
    if not facts.wrong:
        assert attribute(facts) == []


@given(facts_strategy)
def test_findings_cite_only_entries_of_this_proposal(facts: ProposalFacts) -> None:
    for finding in attribute(facts):
        assert set(finding.ledger_seqs) <= seqs_of(facts)
        assert list(finding.ledger_seqs) == sorted(set(finding.ledger_seqs))


@given(facts_strategy, st.integers(1, 100))
def test_with_every_entry_known_every_finding_cites_one(facts: ProposalFacts, base: int) -> None:
    from dataclasses import replace

    full = replace(
        facts,
        proposal_seq=base,
        verdict_seq=base + 1,
        applied_seq=base + 2,
        review_seq=base + 3,
        appeal_seq=base + 4,
    )
    for finding in attribute(full):
        assert finding.ledger_seqs


@given(facts_strategy)
def test_developer_and_data_exclude_each_other(facts: ProposalFacts) -> None:
    parties = {finding.party for finding in attribute(facts)}
    assert not ({Party.DEVELOPER, Party.DATA} <= parties)


@given(facts_strategy)
def test_acting_alone_where_the_grade_needs_a_human_is_the_deployers(facts: ProposalFacts) -> None:
    findings = attribute(facts)
    grade_rule = any(f.rule == "deployer.grade" for f in findings)
    assert grade_rule == (
        facts.wrong and facts.acted_alone and facts.duties.requires_human(facts.action)
    )
    for finding in findings:
        if finding.party is Party.DEPLOYER:
            assert finding.who == "config:abc"


@given(facts_strategy)
def test_operator_answers_exactly_for_approved_then_upheld(facts: ProposalFacts) -> None:
    operator = [f for f in attribute(facts) if f.party is Party.OPERATOR]
    assert bool(operator) == (facts.outcome == "approved" and facts.appeal_upheld)
    for finding in operator:
        assert finding.who == facts.reviewer


@given(facts_strategy)
def test_developer_answers_for_confident_and_wrong_on_familiar_input(facts: ProposalFacts) -> None:
    developer = any(f.party is Party.DEVELOPER for f in attribute(facts))
    expected = (
        facts.wrong
        and facts.threshold_in_force is not None
        and facts.confidence >= facts.threshold_in_force
        and (facts.similarity is None or facts.similarity >= DEFAULT_SIMILARITY_LIMIT)
        and (facts.group_share is None or facts.group_share >= DEFAULT_MIN_GROUP_SHARE)
    )
    assert developer == expected


def test_a_worked_example() -> None:
    facts = ProposalFacts(
        case_id="c9",
        proposal_id="p9",
        action="route",
        confidence=0.62,
        threshold_in_force=0.6,
        filed_threshold=0.8,
        outcome="applied",
        duties=GradeDuties(grade="III", human_approves_citizen_affecting=True),
        appeal_upheld=True,
        similarity=0.12,
        deployer="config:9f",
        developer="acme@1",
        proposal_seq=10,
        verdict_seq=11,
        applied_seq=12,
        appeal_seq=40,
    )
    rules = [(f.party.value, f.rule, f.ledger_seqs) for f in attribute(facts)]
    assert rules == [
        ("deployer", "deployer.grade", (11, 12, 40)),
        ("deployer", "deployer.threshold", (11, 12, 40)),
        ("data", "data.unlike_training", (10, 40)),
    ]

"""A citizen rates how their case was handled: once, 1-5 stars, through the
token that opens the case, recorded as a ``case.rated`` ledger entry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cogov.core.clock import FixedClock
from cogov.core.errors import Conflict
from cogov.intake import (
    RATING_KIND,
    AlreadyRated,
    CaseNotFound,
    IntakeConfig,
    InvalidRequest,
    Submission,
    load_catalogue,
    load_group_attributes,
    rate_case,
    rating_for_case,
    ratings_for_cases,
    submit,
)
from cogov.intake.rules import HIGHEST_SCORE, LOWEST_SCORE, score_problem
from cogov.ledger import LedgerEntry, entries_for_case

CLOCK = FixedClock(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
CONFIG = IntakeConfig(
    catalogue=load_catalogue(), groups=load_group_attributes(), token_key=b"k" * 32
)
BODY = {
    "service_code": "pothole",
    "description": "Deep pothole in the bus lane",
    "address_string": "12 Main St",
}


def submitted(session: Session) -> Submission:
    return submit(session, BODY, config=CONFIG, clock=CLOCK)


def rated_entries(session: Session) -> int:
    count = select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == RATING_KIND)
    return int(session.scalar(count) or 0)


class TestRateCase:
    def test_rating_is_a_ledger_entry_read_back(self, db_session: Session) -> None:
        case = submitted(db_session)
        assert rating_for_case(db_session, case_id=case.case.id) is None
        rating = rate_case(db_session, token=case.citizen_token, score=4, clock=CLOCK)
        assert (rating.case_id, rating.score) == (case.case.id, 4)
        (entry,) = [e for e in entries_for_case(db_session, case.case.id) if e.kind == RATING_KIND]
        assert entry.payload == {"score": 4}
        assert entry.actor == f"citizen:{case.case.id}"
        assert (entry.seq, entry.recorded_at) == (rating.ledger_seq, rating.rated_at)
        assert rating_for_case(db_session, case_id=case.case.id) == rating

    def test_once_per_case(self, db_session: Session) -> None:
        case = submitted(db_session)
        rate_case(db_session, token=case.citizen_token, score=5, clock=CLOCK)
        with pytest.raises(AlreadyRated) as refused:
            rate_case(db_session, token=case.citizen_token, score=1, clock=CLOCK)
        assert isinstance(refused.value, Conflict)
        assert rated_entries(db_session) == 1
        found = rating_for_case(db_session, case_id=case.case.id)
        assert found is not None
        assert found.score == 5

    @pytest.mark.parametrize("score", [0, 6, -1, True, 2.5, "4", None])
    def test_score_outside_one_to_five_is_refused(self, db_session: Session, score: object) -> None:
        case = submitted(db_session)
        with pytest.raises(InvalidRequest) as refused:
            rate_case(db_session, token=case.citizen_token, score=score, clock=CLOCK)  # type: ignore[arg-type]
        assert refused.value.field == "score"
        assert "1 to 5" in refused.value.reason
        assert rated_entries(db_session) == 0

    def test_unknown_token_opens_nothing(self, db_session: Session) -> None:
        submitted(db_session)
        with pytest.raises(CaseNotFound) as refused:
            rate_case(db_session, token="not-a-token", score=3, clock=CLOCK)
        assert "not-a-token" not in str(refused.value)
        assert rated_entries(db_session) == 0


class TestRatingsOfManyCases:
    def test_one_read_answers_as_rating_for_case_does(self, db_session: Session) -> None:
        rated, unrated, other = (submitted(db_session) for _ in range(3))
        rate_case(db_session, token=rated.citizen_token, score=2, clock=CLOCK)
        rate_case(db_session, token=other.citizen_token, score=5, clock=CLOCK)
        ids = [rated.case.id, unrated.case.id, other.case.id, rated.case.id, "no-such-case"]
        found = ratings_for_cases(db_session, case_ids=ids)
        assert set(found) == {rated.case.id, other.case.id}
        for case_id in ids:
            assert found.get(case_id) == rating_for_case(db_session, case_id=case_id)
        assert found[rated.case.id].score == 2


@given(st.one_of(st.integers(-10, 10), st.booleans(), st.floats(), st.text(max_size=3)))
def test_only_whole_stars_in_range_are_ratings(score: object) -> None:
    in_range = (
        isinstance(score, int)
        and not isinstance(score, bool)
        and LOWEST_SCORE <= score <= HIGHEST_SCORE
    )
    assert (score_problem(score) is None) == in_range

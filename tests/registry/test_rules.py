"""The lifecycle table (pure), property-tested over random sequences of steps."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cogov.registry.rules import FilingStatus, Step, allowed_from, next_status


@given(st.lists(st.sampled_from(list(Step)), max_size=30))
def test_random_walks_keep_the_lifecycle(steps: list[Step]) -> None:
    status = FilingStatus.DRAFT
    seen = [status]
    for step in steps:
        target = next_status(step, status)
        if target is None:
            assert status not in allowed_from(step)
            continue
        if target is FilingStatus.ACTIVE:
            # active only ever follows an approval (first time) or a suspension
            assert status in (FilingStatus.APPROVED, FilingStatus.SUSPENDED)
            assert FilingStatus.APPROVED in seen
        status = target
        seen.append(status)
    if FilingStatus.RETIRED in seen:
        assert status is FilingStatus.RETIRED  # retired is final


def test_every_status_but_retired_can_retire() -> None:
    assert set(allowed_from(Step.RETIRE)) == set(FilingStatus) - {FilingStatus.RETIRED}

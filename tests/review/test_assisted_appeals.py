"""An appeal staff enter for a citizen names how the citizen reached them (phone,
counter) in its ledger entry; only staff-entered appeals name a channel."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session

from cogov.control import ControlConfig
from cogov.review import InvalidReviewInput, file_appeal
from tests.review.conftest import MakePending, ledger


class TestAssistedAppealChannel:
    @pytest.mark.parametrize(
        ("entered_by", "channel", "recorded"),
        [("t.osei", "counter", (True, "counter")), (None, None, (False, None))],
    )
    def test_the_channel_is_in_the_ledger(
        self,
        db_session: Session,
        make_pending: MakePending,
        config: ControlConfig,
        entered_by: str | None,
        channel: str | None,
        recorded: tuple[bool, str | None],
    ) -> None:
        applied = make_pending(level=3)
        file_appeal(
            db_session,
            token=applied.token,
            proposal_id=applied.proposal.id,
            grounds="Said at the counter: wrong department.",
            entered_by=entered_by,
            channel=channel,
            config=config,
        )
        payload = json.loads(ledger(db_session, "appeal.filed")[-1].payload)
        assert (payload["assisted"], payload["channel"]) == recorded

    @pytest.mark.parametrize(
        ("entered_by", "channel", "reason"),
        [
            (None, "phone", "channel: only an appeal staff enter names its channel"),
            ("t.osei", "pigeon", "channel: 'pigeon' is not one of web, app, phone"),
        ],
    )
    def test_refused_channels_file_nothing(
        self,
        db_session: Session,
        make_pending: MakePending,
        config: ControlConfig,
        entered_by: str | None,
        channel: str,
        reason: str,
    ) -> None:
        applied = make_pending(level=3)
        with pytest.raises(InvalidReviewInput, match=reason):
            file_appeal(
                db_session,
                token=applied.token,
                proposal_id=applied.proposal.id,
                grounds="Wrong department.",
                entered_by=entered_by,
                channel=channel,
                config=config,
            )
        assert ledger(db_session, "appeal.filed") == []

"""A password change ends every web session of that user, in the same transaction as
the new hash and its ledger entry; API tokens outlive it (docs/registry.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.core.clock import FixedClock
from cogov.core.types import Role
from cogov.identity import MissingRole, UserDisabled, add_user, disable_user, verify_password
from cogov.identity.access import (
    InvalidCredentials,
    authenticate_api_token,
    end_web_session,
    issue_api_token,
    open_web_session,
    reset_password,
    resolve_web_session,
)
from cogov.ledger import LedgerEntry

CLOCK = FixedClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
OLD = "the first long password"
NEW = "a second long password"
HOUR = timedelta(hours=1)


def password_entries(session: Session) -> list[tuple[str, dict[str, object]]]:
    rows = session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == "user.password_set").order_by(LedgerEntry.seq)
    ).all()
    return [(row.actor, json.loads(row.payload)) for row in rows]


def signed_in(session: Session, username: str) -> str:
    """A new web session of ``username``; its cookie secret."""
    user = verify_password(session, username=username, password=OLD)
    assert user is not None
    return open_web_session(session, user=user, lifetime=HOUR, clock=CLOCK).secret


def live(session: Session, secret: str) -> bool:
    try:
        resolve_web_session(session, secret=secret, idle_timeout=HOUR, clock=CLOCK)
    except InvalidCredentials:
        return False
    return True


@pytest.fixture
def staff(db_session: Session) -> Session:
    add_user(db_session, username="admin", roles=[Role.ADMINISTRATOR], password=OLD, clock=CLOCK)
    for name in ("r1", "r2"):
        add_user(
            db_session, username=name, roles=[Role.REVIEWER], password=OLD, by="admin", clock=CLOCK
        )
    return db_session


class TestResetPassword:
    def test_ends_the_users_sessions_and_only_theirs(self, staff: Session) -> None:
        laptop, phone, other = (
            signed_in(staff, "r1"),
            signed_in(staff, "r1"),
            signed_in(staff, "r2"),
        )
        signed_out = signed_in(staff, "r1")
        end_web_session(staff, secret=signed_out)
        reset = reset_password(staff, username="r1", password=NEW, by="admin", clock=CLOCK)
        assert reset.sessions_ended == 2  # the one already signed out is not counted
        assert reset.user.username == "r1"
        assert not live(staff, laptop)
        assert not live(staff, phone)
        assert live(staff, other)
        assert verify_password(staff, username="r1", password=NEW) is not None
        assert verify_password(staff, username="r1", password=OLD) is None
        # A new sign-in with the new password works as before.
        user = verify_password(staff, username="r1", password=NEW)
        assert user is not None
        again = open_web_session(staff, user=user, lifetime=HOUR, clock=CLOCK).secret
        assert live(staff, again)

    def test_the_ledger_says_how_many_sessions_ended_and_no_secret(self, staff: Session) -> None:
        signed_in(staff, "r1")
        reset_password(staff, username="r1", password=NEW, by="admin", clock=CLOCK)
        reset_password(staff, username="r2", password=NEW, by="r2", clock=CLOCK)
        assert password_entries(staff) == [
            ("user:admin", {"username": "r1", "sessions_ended": 1}),
            ("user:r2", {"username": "r2", "sessions_ended": 0}),
        ]
        stored = " ".join(
            row.payload
            for row in staff.scalars(
                select(LedgerEntry).where(LedgerEntry.kind == "user.password_set")
            )
        )
        assert NEW not in stored
        assert "argon2" not in stored

    def test_the_users_own_change_ends_their_sessions_too(self, staff: Session) -> None:
        browser = signed_in(staff, "r1")
        assert reset_password(staff, username="r1", password=NEW, by="r1").sessions_ended == 1
        assert not live(staff, browser)

    def test_api_tokens_outlive_it(self, staff: Session) -> None:
        issued = issue_api_token(staff, username="r1", name="ci", by="admin", clock=CLOCK)
        reset_password(staff, username="r1", password=NEW, by="admin", clock=CLOCK)
        user, token = authenticate_api_token(staff, secret=issued.secret, clock=CLOCK)
        assert (user.username, token.id) == ("r1", issued.token.id)

    def test_a_refused_reset_ends_nothing(self, staff: Session) -> None:
        browser = signed_in(staff, "r1")
        with pytest.raises(MissingRole):
            reset_password(staff, username="r1", password=NEW, by="r2")
        assert live(staff, browser)
        disable_user(staff, username="r2", by="admin", reason="left", clock=CLOCK)
        with pytest.raises(UserDisabled):
            reset_password(staff, username="r2", password=NEW, by="admin")
        assert password_entries(staff) == []

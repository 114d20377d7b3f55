"""The departments a staff user's field team works: who may change them, what is
refused, and the ledger entry naming the administrator."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.core.clock import FixedClock
from cogov.core.types import Role
from cogov.identity import (
    InvalidUserInput,
    LastAdministrator,
    MissingRole,
    Refusal,
    UserNotFound,
    add_user,
    change_departments,
    set_roles,
    user_departments,
)
from cogov.ledger import LedgerEntry

CLOCK = FixedClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


def changes(session: Session, kind: str = "user.departments_changed") -> list[dict[str, object]]:
    rows = session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == kind).order_by(LedgerEntry.seq)
    ).all()
    return [{"actor": row.actor, **json.loads(row.payload)} for row in rows]


@pytest.fixture
def staff(db_session: Session) -> Session:
    """An administrator, a field staff member and a reviewer."""
    add_user(db_session, username="admin", roles=[Role.ADMINISTRATOR], clock=CLOCK)
    add_user(db_session, username="fay", roles=[Role.FIELD_STAFF], by="admin", clock=CLOCK)
    add_user(db_session, username="rita", roles=[Role.REVIEWER], by="admin", clock=CLOCK)
    return db_session


class TestUserDepartments:
    def test_none_until_an_administrator_adds_one(self, staff: Session) -> None:
        assert user_departments(staff, username="fay") == ()

    def test_unknown_user(self, staff: Session) -> None:
        with pytest.raises(UserNotFound):
            user_departments(staff, username="ghost")


class TestChangeDepartments:
    def test_add_and_remove_with_a_ledger_entry_naming_the_administrator(
        self, staff: Session
    ) -> None:
        held = change_departments(
            staff,
            username="fay",
            add=["Transport", "  Parks   and  Gardens ", "Transport"],
            by="admin",
            reason="joined the road crew",
            clock=CLOCK,
        )
        assert held == ("Parks and Gardens", "Transport")
        assert user_departments(staff, username="fay") == held
        held = change_departments(
            staff,
            username="fay",
            add=["Sanitation"],
            remove=["Transport"],
            by="admin",
            reason="moved crews",
        )
        assert held == ("Parks and Gardens", "Sanitation")
        assert user_departments(staff, username="fay") == held
        first, second = changes(staff)
        assert first == {
            "actor": "user:admin",
            "username": "fay",
            "departments_before": [],
            "departments_after": ["Parks and Gardens", "Transport"],
            "added": ["Parks and Gardens", "Transport"],
            "removed": [],
            "reason": "joined the road crew",
        }
        assert second["departments_before"] == ["Parks and Gardens", "Transport"]
        assert second["added"] == ["Sanitation"]
        assert second["removed"] == ["Transport"]

    def test_each_user_keeps_their_own(self, staff: Session) -> None:
        add_user(staff, username="sam", roles=[Role.FIELD_STAFF], by="admin", clock=CLOCK)
        change_departments(staff, username="fay", add=["Transport"], by="admin", reason="crew")
        change_departments(staff, username="sam", add=["Transport"], by="admin", reason="crew")
        change_departments(staff, username="sam", remove=["Transport"], by="admin", reason="x")
        assert user_departments(staff, username="fay") == ("Transport",)
        assert user_departments(staff, username="sam") == ()

    def test_only_field_staff_are_given_departments(self, staff: Session) -> None:
        with pytest.raises(InvalidUserInput) as refused:
            change_departments(staff, username="rita", add=["Transport"], by="admin", reason="x")
        assert (refused.value.field, refused.value.code) == ("add", Refusal.NOT_FIELD_STAFF)
        assert user_departments(staff, username="rita") == ()
        assert changes(staff) == []

    def test_taking_away_field_staff_takes_them_out_of_every_department(
        self, staff: Session
    ) -> None:
        add_user(staff, username="sam", roles=[Role.FIELD_STAFF], by="admin", clock=CLOCK)
        change_departments(
            staff, username="fay", add=["Transport", "Parks"], by="admin", reason="crew"
        )
        change_departments(staff, username="sam", add=["Transport"], by="admin", reason="crew")
        changed = set_roles(
            staff, username="fay", roles=[Role.AUDITOR], by="admin", reason="moved", clock=CLOCK
        )
        assert changed.departments_removed == ("Parks", "Transport")
        assert changed.user.roles == (Role.AUDITOR,)
        assert user_departments(staff, username="fay") == ()
        assert user_departments(staff, username="sam") == ("Transport",)
        # One entry says all the change did; no departments_changed of its own.
        [entry] = changes(staff, "user.roles_changed")
        assert entry == {
            "actor": "user:admin",
            "username": "fay",
            "roles_before": ["field_staff"],
            "roles_after": ["auditor"],
            "departments_removed": ["Parks", "Transport"],
            "reason": "moved",
        }
        assert len(changes(staff)) == 2
        with pytest.raises(InvalidUserInput, match="does not work for 'Transport'"):
            change_departments(staff, username="fay", remove=["Transport"], by="admin", reason="x")

    def test_field_staff_who_keep_the_role_keep_their_departments(self, staff: Session) -> None:
        change_departments(staff, username="fay", add=["Transport"], by="admin", reason="crew")
        changed = set_roles(
            staff, username="fay", roles=[Role.FIELD_STAFF, Role.REVIEWER], by="admin", reason="x"
        )
        assert changed.departments_removed == ()
        assert user_departments(staff, username="fay") == ("Transport",)
        assert changes(staff, "user.roles_changed")[0]["departments_removed"] == []

    def test_a_refused_role_change_keeps_the_departments(self, staff: Session) -> None:
        add_user(staff, username="ada", roles=[Role.ADMINISTRATOR, Role.FIELD_STAFF], by="admin")
        change_departments(staff, username="ada", add=["Transport"], by="admin", reason="crew")
        set_roles(staff, username="admin", roles=[Role.AUDITOR], by="ada", reason="handover")
        with pytest.raises(LastAdministrator):
            set_roles(staff, username="ada", roles=[Role.AUDITOR], by="ada", reason="x")
        assert user_departments(staff, username="ada") == ("Transport",)

    @pytest.mark.parametrize(
        ("add", "remove", "field", "reason"),
        [
            ((), (), "departments", "at least one department"),
            (("  ",), (), "add", "must not be empty"),
            (("x" * 201,), (), "add", "over 200 characters"),
            (("Par\x00ks",), (), "add", r"control character U\+0000 at position 4"),
            (("Transport",), (), "add", "already works for 'Transport'"),
            ((), ("Parks",), "remove", "does not work for 'Parks'"),
            (("Parks",), ("Parks",), "remove", "both added and removed"),
        ],
    )
    def test_refused_changes_name_the_field_and_write_nothing(
        self, staff: Session, add: tuple[str, ...], remove: tuple[str, ...], field: str, reason: str
    ) -> None:
        change_departments(staff, username="fay", add=["Transport"], by="admin", reason="crew")
        with pytest.raises(InvalidUserInput, match=reason) as refused:
            change_departments(
                staff, username="fay", add=add, remove=remove, by="admin", reason="again"
            )
        assert refused.value.field == field
        assert user_departments(staff, username="fay") == ("Transport",)
        assert len(changes(staff)) == 1

    def test_only_an_administrator_with_a_reason(self, staff: Session) -> None:
        with pytest.raises(MissingRole):
            change_departments(staff, username="fay", add=["Transport"], by="rita", reason="me")
        with pytest.raises(InvalidUserInput, match="must not be empty"):
            change_departments(staff, username="fay", add=["Transport"], by="admin", reason=" ")
        with pytest.raises(UserNotFound):
            change_departments(staff, username="ghost", add=["Transport"], by="admin", reason="x")
        assert user_departments(staff, username="fay") == ()
        assert changes(staff) == []

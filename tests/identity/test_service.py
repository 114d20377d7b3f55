from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.core.clock import FixedClock
from cogov.core.types import Role
from cogov.identity import (
    CannotDisableSelf,
    InvalidUserInput,
    LastAdministrator,
    MissingRole,
    UserAlreadyActive,
    UserDisabled,
    UsernameTaken,
    UserNotFound,
    add_user,
    disable_user,
    enable_user,
    find_users,
    get_user,
    has_role,
    list_users,
    require_role,
    set_roles,
    verify_password,
)
from cogov.identity.access import reset_password
from cogov.ledger import LedgerEntry

CLOCK = FixedClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
PASSWORD = "correct horse battery"


def entries(session: Session, kind: str) -> list[dict[str, object]]:
    rows = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == kind)).all()
    return [{"actor": row.actor, **json.loads(row.payload)} for row in rows]


def admin(session: Session, username: str = "admin") -> str:
    add_user(session, username=username, roles=[Role.ADMINISTRATOR], clock=CLOCK)
    return username


class TestAddUser:
    def test_creates_an_active_user_with_several_roles(self, db_session: Session) -> None:
        user = add_user(
            db_session,
            username="li.wei",
            roles=["reviewer", Role.AUDITOR, "reviewer"],
            display_name="  Li   Wei ",
            password=PASSWORD,
            clock=CLOCK,
        )
        assert user.roles == (Role.AUDITOR, Role.REVIEWER)
        assert user.display_name == "Li Wei"
        assert user.active
        assert user.has_password
        assert user.created_at == CLOCK.now()
        assert get_user(db_session, username="li.wei") == user

    def test_ledger_entry_has_no_personal_data(self, db_session: Session) -> None:
        add_user(
            db_session,
            username="li.wei",
            roles=[Role.REVIEWER],
            display_name="Li Wei",
            password=PASSWORD,
        )
        [entry] = entries(db_session, "user.added")
        assert entry == {
            "actor": "system:admin-cli",
            "username": "li.wei",
            "roles": ["reviewer"],
            "has_password": True,
        }
        assert "Li Wei" not in json.dumps(entry)
        assert PASSWORD not in json.dumps(entry)

    def test_named_administrator_is_the_actor(self, db_session: Session) -> None:
        admin(db_session)
        add_user(db_session, username="r1", roles=[Role.REVIEWER], by="admin")
        assert entries(db_session, "user.added")[-1]["actor"] == "user:admin"

    def test_non_administrator_may_not_add(self, db_session: Session) -> None:
        add_user(db_session, username="r1", roles=[Role.REVIEWER])
        with pytest.raises(MissingRole, match="'r1' does not hold the administrator role"):
            add_user(db_session, username="r2", roles=[Role.REVIEWER], by="r1")

    def test_username_is_unique(self, db_session: Session) -> None:
        add_user(db_session, username="r1", roles=[Role.REVIEWER])
        with pytest.raises(UsernameTaken, match="username: 'r1' is already taken"):
            add_user(db_session, username="r1", roles=[Role.AUDITOR])

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"username": "Li Wei"}, "username"),
            ({"username": "x"}, "username"),
            ({"roles": []}, "roles"),
            ({"roles": ["king"]}, "roles"),
            ({"display_name": "   "}, "display_name"),
            ({"display_name": "Li\x00Wei"}, "display_name"),  # PostgreSQL text holds no NUL
            ({"password": "short"}, "password"),
        ],
    )
    def test_refuses_bad_input_naming_the_field(
        self, db_session: Session, kwargs: dict[str, object], field: str
    ) -> None:
        given: dict[str, object] = {"username": "ok.user", "roles": [Role.REVIEWER], **kwargs}
        with pytest.raises(InvalidUserInput) as caught:
            add_user(db_session, **given)  # type: ignore[arg-type]
        assert caught.value.field == field
        assert list_users(db_session) == []
        assert entries(db_session, "user.added") == []


class TestListAndLookup:
    def test_filters_by_role_and_activity(self, db_session: Session) -> None:
        admin(db_session)
        add_user(db_session, username="r1", roles=[Role.REVIEWER, Role.FIELD_STAFF])
        add_user(db_session, username="r2", roles=[Role.REVIEWER])
        disable_user(db_session, username="r2", by="admin", reason="left the team")
        assert [u.username for u in list_users(db_session)] == ["admin", "r1", "r2"]
        assert [u.username for u in list_users(db_session, role=Role.REVIEWER)] == ["r1", "r2"]
        assert [
            u.username for u in list_users(db_session, active_only=True, role=Role.REVIEWER)
        ] == ["r1"]
        assert set(find_users(db_session, usernames=["r1", "nobody"])) == {"r1"}

    def test_unknown_user(self, db_session: Session) -> None:
        with pytest.raises(UserNotFound, match="user 'ghost' not found"):
            get_user(db_session, username="ghost")


class TestHasRole:
    def test_only_active_holders(self, db_session: Session) -> None:
        admin(db_session)
        add_user(db_session, username="r1", roles=[Role.REVIEWER])
        assert has_role(db_session, username="r1", role=Role.REVIEWER)
        assert not has_role(db_session, username="r1", role=Role.AUDITOR)
        assert not has_role(db_session, username="ghost", role=Role.REVIEWER)
        disable_user(db_session, username="r1", by="admin", reason="left")
        assert not has_role(db_session, username="r1", role=Role.REVIEWER)
        with pytest.raises(UserDisabled, match="user 'r1' is disabled"):
            require_role(db_session, username="r1", role=Role.REVIEWER)


class TestDisableUser:
    def test_disables_and_records(self, db_session: Session) -> None:
        admin(db_session)
        add_user(db_session, username="r1", roles=[Role.REVIEWER], password=PASSWORD)
        user = disable_user(db_session, username="r1", by="admin", reason="left", clock=CLOCK)
        assert not user.active
        assert user.disabled_at == CLOCK.now()
        assert entries(db_session, "user.disabled") == [
            {"actor": "user:admin", "username": "r1", "reason": "left"}
        ]
        assert verify_password(db_session, username="r1", password=PASSWORD) is None

    def test_twice_is_refused(self, db_session: Session) -> None:
        admin(db_session)
        add_user(db_session, username="r1", roles=[Role.REVIEWER])
        disable_user(db_session, username="r1", by="admin", reason="left")
        with pytest.raises(UserDisabled):
            disable_user(db_session, username="r1", by="admin", reason="again")

    def test_needs_a_reason(self, db_session: Session) -> None:
        admin(db_session)
        add_user(db_session, username="r1", roles=[Role.REVIEWER])
        with pytest.raises(InvalidUserInput, match="reason: must not be empty"):
            disable_user(db_session, username="r1", by="admin", reason="  ")

    def test_last_administrator_stays(self, db_session: Session) -> None:
        admin(db_session)
        admin(db_session, "admin2")
        disable_user(db_session, username="admin2", by="admin", reason="rotation")
        with pytest.raises(LastAdministrator, match="last active administrator"):
            disable_user(db_session, username="admin", by="admin", reason="oops")

    def test_an_administrator_may_not_disable_themself(self, db_session: Session) -> None:
        admin(db_session)
        admin(db_session, "admin2")
        with pytest.raises(CannotDisableSelf, match="another administrator must"):
            disable_user(db_session, username="admin", by="admin", reason="leaving")
        assert get_user(db_session, username="admin").active
        assert entries(db_session, "user.disabled") == []
        disable_user(db_session, username="admin", by="admin2", reason="leaving")
        assert not get_user(db_session, username="admin").active

    def test_enable_again(self, db_session: Session) -> None:
        admin(db_session)
        add_user(db_session, username="r1", roles=[Role.REVIEWER])
        disable_user(db_session, username="r1", by="admin", reason="leave")
        assert enable_user(db_session, username="r1", by="admin", reason="back").active
        with pytest.raises(UserAlreadyActive):
            enable_user(db_session, username="r1", by="admin", reason="back")


class TestSetRoles:
    def test_replaces_roles_and_records_both(self, db_session: Session) -> None:
        admin(db_session)
        add_user(db_session, username="r1", roles=[Role.REVIEWER])
        changed = set_roles(
            db_session, username="r1", roles=[Role.AUDITOR], by="admin", reason="moved"
        )
        assert changed.user.roles == (Role.AUDITOR,)
        assert changed.departments_removed == ()
        [entry] = entries(db_session, "user.roles_changed")
        assert entry["roles_before"] == ["reviewer"]
        assert entry["departments_removed"] == []

    def test_cannot_demote_the_last_administrator(self, db_session: Session) -> None:
        admin(db_session)
        with pytest.raises(LastAdministrator):
            set_roles(db_session, username="admin", roles=["auditor"], by="admin", reason="x")


class TestPasswords:
    def test_set_and_verify(self, db_session: Session) -> None:
        add_user(db_session, username="r1", roles=[Role.REVIEWER])
        assert verify_password(db_session, username="r1", password=PASSWORD) is None
        reset_password(db_session, username="r1", password=PASSWORD, by="r1")
        verified = verify_password(db_session, username="r1", password=PASSWORD)
        assert verified is not None
        assert verified.username == "r1"
        assert verify_password(db_session, username="r1", password=PASSWORD + "x") is None
        assert verify_password(db_session, username="ghost", password=PASSWORD) is None
        assert entries(db_session, "user.password_set") == [
            {"actor": "user:r1", "username": "r1", "sessions_ended": 0}
        ]

    def test_stored_as_argon2id(self, db_session: Session) -> None:
        from cogov.identity.models import User

        add_user(db_session, username="r1", roles=[Role.REVIEWER], password=PASSWORD)
        stored = db_session.scalars(select(User.password_hash)).one()
        assert stored is not None
        assert stored.startswith("$argon2id$")
        assert PASSWORD not in stored

    def test_others_need_an_administrator(self, db_session: Session) -> None:
        add_user(db_session, username="r1", roles=[Role.REVIEWER])
        add_user(db_session, username="r2", roles=[Role.REVIEWER])
        with pytest.raises(MissingRole):
            reset_password(db_session, username="r2", password=PASSWORD, by="r1")

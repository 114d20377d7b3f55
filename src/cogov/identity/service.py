"""Use cases on staff users. Keyword-only, take a session, never commit; every
change appends a ledger entry in the same transaction.

Ledger payloads name users by username (a staff id) and never carry display
names, passwords or contact details.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from sqlalchemy.orm import Session

from cogov.core.clock import Clock, SystemClock
from cogov.core.ids import new_id
from cogov.core.types import Role
from cogov.identity import repository
from cogov.identity.errors import (
    CannotDisableSelf,
    LastAdministrator,
    MissingRole,
    UserAlreadyActive,
    UserDisabled,
    UsernameTaken,
    UserNotFound,
)
from cogov.identity.models import User
from cogov.identity.rules import (
    check_departments_fit_roles,
    check_display_name,
    check_password,
    check_reason,
    check_roles,
    check_username,
    department_changes,
    departments_lost_with_roles,
    hash_password,
    needs_rehash,
    password_matches,
)
from cogov.identity.schemas import RolesChanged, UserRead
from cogov.ledger import append

_SYSTEM_CLOCK = SystemClock()
# Who acts when no staff user is named: the operator at the machine (first set-up).
SYSTEM_ACTOR = "system:admin-cli"


def _read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=check_roles(row.role for row in user.role_rows),
        active=user.active,
        has_password=user.password_hash is not None,
        created_at=user.created_at,
        disabled_at=user.disabled_at,
    )


def _load(session: Session, username: str) -> User:
    user = repository.by_username(session, username)
    if user is None:
        raise UserNotFound(username)
    return user


def _actor_for(session: Session, by: str | None) -> str:
    """The ledger actor of an administrative change: a named active administrator,
    or the system operator when nobody is named (bootstrapping the first user)."""
    if by is None:
        return SYSTEM_ACTOR
    return require_role(session, username=by, role=Role.ADMINISTRATOR).actor


def require_active_user(session: Session, *, username: str) -> UserRead:
    """The user, if it exists and is active; raises UserNotFound or UserDisabled."""
    user = _read(_load(session, username))
    if not user.active:
        raise UserDisabled(username)
    return user


def require_role(session: Session, *, username: str, role: Role) -> UserRead:
    """The user, if active and holding ``role``; raises UserNotFound, UserDisabled
    or MissingRole otherwise."""
    user = require_active_user(session, username=username)
    if role not in user.roles:
        raise MissingRole(username, role)
    return user


def add_user(
    session: Session,
    *,
    username: str,
    roles: Iterable[Role | str],
    display_name: str | None = None,
    password: str | None = None,
    by: str | None = None,
    clock: Clock | None = None,
) -> UserRead:
    """Create an active user. ``by`` names the administrator doing it (None: the
    system operator, for the first user)."""
    username = check_username(username)
    checked_roles = check_roles(roles)
    name = check_display_name(display_name if display_name is not None else username)
    password_hash = hash_password(password) if password is not None else None
    actor = _actor_for(session, by)
    if repository.by_username(session, username) is not None:
        raise UsernameTaken(username)
    now = (clock or _SYSTEM_CLOCK).now()
    user = User(
        id=new_id(),
        username=username,
        display_name=name,
        active=True,
        password_hash=password_hash,
        created_at=now,
        disabled_at=None,
    )
    repository.replace_roles(user, checked_roles)
    repository.add(session, user)
    append(
        session,
        kind="user.added",
        actor=actor,
        payload={
            "username": username,
            "roles": [role.value for role in checked_roles],
            "has_password": password_hash is not None,
        },
        clock=clock,
    )
    return _read(user)


def get_user(session: Session, *, username: str) -> UserRead:
    return _read(_load(session, username))


def find_users(session: Session, *, usernames: Iterable[str]) -> dict[str, UserRead]:
    """The users among ``usernames`` that exist, by username (missing ones are absent)."""
    found = repository.by_usernames(session, list(usernames))
    return {name: _read(user) for name, user in found.items()}


def list_users(
    session: Session, *, active_only: bool = False, role: Role | None = None
) -> list[UserRead]:
    return [_read(u) for u in repository.all_users(session, active_only=active_only, role=role)]


def has_role(session: Session, *, username: str, role: Role) -> bool:
    """True when ``username`` exists, is active and holds ``role``."""
    user = repository.by_username(session, username)
    return user is not None and _read(user).holds(role)


def _refuse_removing_last_administrator(session: Session, user: User) -> None:
    if (
        user.active
        and any(row.role == Role.ADMINISTRATOR.value for row in user.role_rows)
        and repository.count_active_with_role(session, Role.ADMINISTRATOR) <= 1
    ):
        raise LastAdministrator(user.username)


def _switch_active(
    session: Session, *, username: str, active: bool, by: str, reason: str, clock: Clock | None
) -> UserRead:
    reason = check_reason(reason)
    actor = _actor_for(session, by)
    user = _load(session, username)
    if user.active == active:
        raise UserAlreadyActive(username) if active else UserDisabled(username)
    if not active:
        _refuse_removing_last_administrator(session, user)
        if by == username:
            raise CannotDisableSelf(username)
    user.active = active
    user.disabled_at = None if active else (clock or _SYSTEM_CLOCK).now()
    session.flush()
    append(
        session,
        kind="user.enabled" if active else "user.disabled",
        actor=actor,
        payload={"username": username, "reason": reason},
        clock=clock,
    )
    return _read(user)


def disable_user(
    session: Session, *, username: str, by: str, reason: str, clock: Clock | None = None
) -> UserRead:
    """Disable a user: it can no longer sign in or act, and agents it guards stop.
    Refused for the last active administrator (LastAdministrator) and for an
    administrator's own account (CannotDisableSelf)."""
    return _switch_active(
        session, username=username, active=False, by=by, reason=reason, clock=clock
    )


def enable_user(
    session: Session, *, username: str, by: str, reason: str, clock: Clock | None = None
) -> UserRead:
    """Let a disabled user sign in and act again."""
    return _switch_active(
        session, username=username, active=True, by=by, reason=reason, clock=clock
    )


def set_roles(
    session: Session,
    *,
    username: str,
    roles: Iterable[Role | str],
    by: str,
    reason: str,
    clock: Clock | None = None,
) -> RolesChanged:
    """Replace the roles ``username`` holds, by an administrator with a reason. A
    user who is no longer field staff is taken out of every department they worked
    for in the same transaction (only field staff work for departments), and the
    one ledger entry, user.roles_changed, names those departments. Refuses demoting
    the last active administrator (LastAdministrator)."""
    checked_roles = check_roles(roles)
    reason = check_reason(reason)
    actor = _actor_for(session, by)
    user = _load(session, username)
    before = _read(user).roles
    if Role.ADMINISTRATOR not in checked_roles:
        _refuse_removing_last_administrator(session, user)
    removed = departments_lost_with_roles(
        checked_roles, repository.departments_of(session, user.id)
    )
    repository.replace_roles(user, checked_roles)
    repository.remove_departments(session, user.id, removed)
    session.flush()
    append(
        session,
        kind="user.roles_changed",
        actor=actor,
        payload={
            "username": username,
            "roles_before": [role.value for role in before],
            "roles_after": [role.value for role in checked_roles],
            "departments_removed": list(removed),
            "reason": reason,
        },
        clock=clock,
    )
    return RolesChanged(user=_read(user), departments_removed=removed)


def user_departments(session: Session, *, username: str) -> tuple[str, ...]:
    """The departments whose field work ``username`` does (the routing values of
    control's work list), sorted; empty until an administrator adds one. Raises
    UserNotFound."""
    return tuple(repository.departments_of(session, _load(session, username).id))


def change_departments(
    session: Session,
    *,
    username: str,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    by: str,
    reason: str,
    clock: Clock | None = None,
) -> tuple[str, ...]:
    """Add ``username`` to departments and take them out of others, by an
    administrator with a reason; returns the departments they work for after it.
    Adding one they hold, removing one they do not, or changing nothing is refused
    (InvalidUserInput naming add, remove or departments), and so is adding one for a
    user who is not field staff (code not_field_staff). Ledger:
    user.departments_changed."""
    reason = check_reason(reason)
    actor = _actor_for(session, by)
    user = _load(session, username)
    before = repository.departments_of(session, user.id)
    adding, removing = department_changes(before, add, remove)
    check_departments_fit_roles(_read(user).roles, adding)
    repository.remove_departments(session, user.id, removing)
    repository.add_departments(session, user.id, adding)
    after = tuple(sorted((set(before) | set(adding)) - set(removing)))
    append(
        session,
        kind="user.departments_changed",
        actor=actor,
        payload={
            "username": username,
            "departments_before": before,
            "departments_after": list(after),
            "added": list(adding),
            "removed": list(removing),
            "reason": reason,
        },
        clock=clock,
    )
    return after


def replace_password_hash(
    session: Session, *, username: str, password: str, by: str | None = None
) -> tuple[UserRead, str]:
    """The first half of a password change: check the password and who may set it
    (``by``: the user themself or an administrator; None: the system operator at the
    machine), refuse a disabled user, store the new hash. Returns the user and the
    ledger actor.

    It writes no ledger entry and ends no session on purpose: call
    ``cogov.identity.access.reset_password``, which does both in the same transaction
    (a credential change must end the sessions opened with the old one)."""
    check_password(password)
    if by is not None and by == username:
        actor = require_active_user(session, username=by).actor
    else:
        actor = _actor_for(session, by)
    user = _load(session, username)
    if not user.active:
        raise UserDisabled(username)
    user.password_hash = hash_password(password)
    session.flush()
    return _read(user), actor


def verify_password(session: Session, *, username: str, password: str) -> UserRead | None:
    """The user when ``password`` is theirs and they are active, else None.

    Unknown users, disabled users and users without a password all give None, and
    take about as long as a wrong password does, so the answer does not reveal
    which usernames exist."""
    user = repository.by_username(session, username)
    if user is None or user.password_hash is None:
        password_matches(_dummy_hash(), password)  # spend the same time
        return None
    if not password_matches(user.password_hash, password) or not user.active:
        return None
    if needs_rehash(user.password_hash):
        # Same secret under stronger parameters: not a credential change, so no ledger entry.
        user.password_hash = hash_password(password)
        session.flush()
    return _read(user)


@cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password-only-for-timing")

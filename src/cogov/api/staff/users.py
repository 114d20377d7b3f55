"""Staff users for administrators (/api/v1/users): list, read, create with an initial
password, change roles, set a field team's departments, disable and enable, and reset
a password. Every change is identity's own use case, so each is a ledger entry naming
the acting administrator; this module only checks the role and shapes JSON. No answer
ever carries a password or its hash. A password reset ends every web session the user
has open; their API tokens keep working until revoked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field

from cogov.api.auth import Principal, require_roles
from cogov.api.deps import ClockDep, DbSession
from cogov.api.errors import responses
from cogov.core.types import Role
from cogov.identity import (
    UserRead,
    add_user,
    change_departments,
    disable_user,
    enable_user,
    get_user,
    list_users,
    set_roles,
    user_departments,
)
from cogov.identity.access import reset_password
from cogov.identity.rules import (
    DEPARTMENT_MAX,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    USERNAME_PATTERN,
)

router = APIRouter(prefix="/api/v1/users", tags=["users"])

Administering = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR))]
# The path is checked as identity checks a new username, so text no user can have
# (a NUL, which PostgreSQL cannot even compare) is a 422 before any query.
Username = Annotated[str, Path(pattern=USERNAME_PATTERN.pattern, description="The staff id.")]
Reason = Annotated[
    str, Field(min_length=1, max_length=2000, description="Why: kept on the ledger entry.")
]
Password = Annotated[
    str,
    Field(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        description="Stored only as its argon2id hash; never shown again.",
    ),
]
Department = Annotated[str, Field(min_length=1, max_length=DEPARTMENT_MAX)]


class UserOut(BaseModel):
    """A staff user as administrators see it: never the password or its hash."""

    id: str
    username: str
    display_name: str
    roles: list[Role]
    active: bool
    has_password: bool
    created_at: datetime
    disabled_at: datetime | None


class UserDetailOut(UserOut):
    departments: list[str] = Field(
        description="The departments whose field work the user does (field staff)."
    )


class RolesChangedOut(UserDetailOut):
    departments_removed: list[str] = Field(
        description="The departments the user was taken out of by this change, because "
        "they are no longer field staff (empty when none)."
    )


class UserIn(BaseModel):
    username: str = Field(
        min_length=2,
        max_length=64,
        description="A staff id of a-z, 0-9, '.', '_' or '-' (it names the user on the ledger).",
    )
    display_name: str | None = Field(
        default=None, max_length=200, description="Default: the username."
    )
    roles: list[Role] = Field(min_length=1)
    password: Password


class RolesIn(BaseModel):
    roles: list[Role] = Field(min_length=1, description="The user's roles from now on.")
    reason: Reason


class DepartmentsIn(BaseModel):
    add: list[Department] = Field(default=[], max_length=50)
    remove: list[Department] = Field(default=[], max_length=50)
    reason: Reason


class ReasonIn(BaseModel):
    reason: Reason


class PasswordIn(BaseModel):
    password: Password


def _out(user: UserRead) -> UserOut:
    return UserOut.model_validate(user.model_dump())


def _detail(session: DbSession, user: UserRead) -> UserDetailOut:
    departments = user_departments(session, username=user.username)
    return UserDetailOut.model_validate({**user.model_dump(), "departments": list(departments)})


@router.get(
    "",
    response_model=list[UserOut],
    summary="Staff users by username (filter by role, or active ones only)",
    responses=responses(401, 403, 422),
)
def users(
    _who: Administering,
    session: DbSession,
    role: Annotated[Role | None, Query()] = None,
    active_only: bool = False,
) -> list[UserOut]:
    return [_out(user) for user in list_users(session, active_only=active_only, role=role)]


@router.get(
    "/{username}",
    response_model=UserDetailOut,
    summary="One staff user, with the departments they work for",
    responses=responses(401, 403, 404, 422),
)
def user(username: Username, _who: Administering, session: DbSession) -> UserDetailOut:
    return _detail(session, get_user(session, username=username))


@router.post(
    "",
    response_model=UserDetailOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add an active staff user with an initial password",
    responses=responses(401, 403, 409, 422),
)
def create_user(
    body: UserIn, who: Administering, session: DbSession, clock: ClockDep
) -> UserDetailOut:
    created = add_user(
        session,
        username=body.username,
        roles=body.roles,
        display_name=body.display_name,
        password=body.password,
        by=who.username,
        clock=clock,
    )
    return _detail(session, created)


@router.put(
    "/{username}/roles",
    response_model=RolesChangedOut,
    summary="Replace a user's roles (the last active administrator keeps theirs; one "
    "who is no longer field staff leaves their departments)",
    responses=responses(401, 403, 404, 409, 422),
)
def roles(
    username: Username, body: RolesIn, who: Administering, session: DbSession, clock: ClockDep
) -> RolesChangedOut:
    changed = set_roles(
        session,
        username=username,
        roles=body.roles,
        by=who.username,
        reason=body.reason,
        clock=clock,
    )
    detail = _detail(session, changed.user)
    return RolesChangedOut.model_validate(
        {**detail.model_dump(), "departments_removed": list(changed.departments_removed)}
    )


@router.post(
    "/{username}/departments",
    response_model=UserDetailOut,
    summary="Add a field worker to departments and take them out of others",
    responses=responses(401, 403, 404, 422),
)
def departments(
    username: Username,
    body: DepartmentsIn,
    who: Administering,
    session: DbSession,
    clock: ClockDep,
) -> UserDetailOut:
    change_departments(
        session,
        username=username,
        add=body.add,
        remove=body.remove,
        by=who.username,
        reason=body.reason,
        clock=clock,
    )
    return _detail(session, get_user(session, username=username))


@router.post(
    "/{username}/disable",
    response_model=UserDetailOut,
    summary="Disable a user: no sign-in, no token, no action (not yourself, not the last "
    "administrator)",
    responses=responses(401, 403, 404, 409, 422),
)
def disable(
    username: Username, body: ReasonIn, who: Administering, session: DbSession, clock: ClockDep
) -> UserDetailOut:
    disabled = disable_user(
        session, username=username, by=who.username, reason=body.reason, clock=clock
    )
    return _detail(session, disabled)


@router.post(
    "/{username}/enable",
    response_model=UserDetailOut,
    summary="Let a disabled user sign in and act again",
    responses=responses(401, 403, 404, 409, 422),
)
def enable(
    username: Username, body: ReasonIn, who: Administering, session: DbSession, clock: ClockDep
) -> UserDetailOut:
    enabled = enable_user(
        session, username=username, by=who.username, reason=body.reason, clock=clock
    )
    return _detail(session, enabled)


@router.put(
    "/{username}/password",
    response_model=UserDetailOut,
    summary="Reset a user's password and end their web sessions",
    responses=responses(401, 403, 404, 409, 422),
)
def password(
    username: Username, body: PasswordIn, who: Administering, session: DbSession, clock: ClockDep
) -> UserDetailOut:
    """Tell the user the new password another way. Every web session they have open
    ends (they sign in again with the new password); their API tokens keep working
    until revoked (DELETE /api/v1/auth/tokens/{token_id}). The ledger entry user.password_set
    says how many sessions were ended."""
    reset = reset_password(
        session, username=username, password=body.password, by=who.username, clock=clock
    )
    return _detail(session, reset.user)

"""Every query on the users, user_roles and user_departments tables. Nothing else
touches them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cogov.core.types import Role
from cogov.identity.models import User, UserDepartment, UserRole


def by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def by_usernames(session: Session, usernames: Sequence[str]) -> dict[str, User]:
    if not usernames:
        return {}
    rows = session.scalars(select(User).where(User.username.in_(set(usernames))))
    return {user.username: user for user in rows}


def all_users(session: Session, *, active_only: bool, role: Role | None) -> Sequence[User]:
    query = select(User).order_by(User.username)
    if active_only:
        query = query.where(User.active.is_(True))
    if role is not None:
        query = query.where(
            User.id.in_(select(UserRole.user_id).where(UserRole.role == role.value))
        )
    return session.scalars(query).all()


def count_active_with_role(session: Session, role: Role) -> int:
    query = (
        select(func.count())
        .select_from(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.active.is_(True), UserRole.role == role.value)
    )
    return int(session.scalar(query) or 0)


def add(session: Session, user: User) -> None:
    session.add(user)
    session.flush()


def replace_roles(user: User, roles: Sequence[Role]) -> None:
    user.role_rows = [UserRole(role=role.value) for role in roles]


def departments_of(session: Session, user_id: str) -> list[str]:
    query = (
        select(UserDepartment.department)
        .where(UserDepartment.user_id == user_id)
        .order_by(UserDepartment.department)
    )
    return list(session.scalars(query))


def add_departments(session: Session, user_id: str, departments: Sequence[str]) -> None:
    session.add_all(UserDepartment(user_id=user_id, department=name) for name in departments)
    session.flush()


def remove_departments(session: Session, user_id: str, departments: Sequence[str]) -> None:
    if departments:
        session.execute(
            delete(UserDepartment).where(
                UserDepartment.user_id == user_id,
                UserDepartment.department.in_(list(departments)),
            )
        )

"""Staff users, for administrators only: the list, adding a user with an initial
password, and on a user's page changing their roles, the departments a field staff
member works for, disabling or enabling them and resetting their password.

Every change is identity's own use case (the same the ``cogov users`` commands and
the staff API call), so each lands in the ledger naming the acting administrator, and
identity's refusals (a bad or taken username, no role, a weak password, the last
administrator, disabling oneself) are shown on the field they concern, in the
visitor's language. No page ever shows a password or its hash."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cogov.api.auth import Principal, require_roles
from cogov.api.deps import DbSession, app_state
from cogov.core.text import trimmed
from cogov.core.types import Role
from cogov.identity import (
    CannotDisableSelf,
    InvalidUserInput,
    LastAdministrator,
    Refusal,
    UserAlreadyActive,
    UserDisabled,
    UsernameTaken,
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
    DISPLAY_NAME_MAX,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    check_department,
    check_departments_fit_roles,
    check_display_name,
    check_password,
    check_roles,
    check_username,
)
from cogov.registry import agents_guarded_by
from cogov.web.forms import CONTROL_CHARACTERS, text_error
from cogov.web.i18n import N_
from cogov.web.pages import Page, PageDep
from cogov.web.routes.registry import REASON_REQUIRED

router = APIRouter()
Administrator = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR))]
REASON_MAX = 2_000
DEPARTMENTS_MAX_LENGTH = 20 * (DEPARTMENT_MAX + 1)
# In the order the forms list them.
ROLE_LABELS = {
    Role.ADMINISTRATOR: N_("Administrator"),
    Role.REVIEWER: N_("Reviewer (guardian)"),
    Role.FIELD_STAFF: N_("Field staff"),
    Role.AUDITOR: N_("Auditor"),
}
ROLE_HINT = N_(
    "Administrators manage users and the registry; reviewers decide what an AI may not; "
    "field staff work their departments' requests; auditors read the ledger and audits."
)
DEPARTMENTS_HINT = N_(
    "Field staff only. One department per line, written as requests are routed to it "
    "(for example Transport)."
)
# Messages for identity's refusals, by the field it names; the reasons identity gives
# are in English for logs and the API, the administrator reads these instead.
USERNAME_INVALID = N_(
    "Use 2 to 64 characters: lower-case letters a-z, digits, '.', '_' or '-', starting "
    "with a letter or a digit."
)
USERNAME_TAKEN = N_("The username %(username)s is taken: choose another.")
DISPLAY_NAME_INVALID = N_("Use at most %(max)s characters.")
ROLES_EMPTY = N_("Choose at least one role.")
ROLES_UNKNOWN = N_("Choose roles from the list.")
PASSWORD_EMPTY = N_("Enter a password of at least %(min)s characters.")
PASSWORD_SHORT = N_("Use a password of at least %(min)s characters.")
PASSWORD_LONG = N_("Use a password of at most %(max)s characters.")
PASSWORD_BLANK = N_("The password must not be only spaces.")
DEPARTMENT_INVALID = N_("Each department name must be 1 to %(max)s characters.")
DEPARTMENTS_NOT_FIELD = N_(
    "Only field staff work for departments: choose Field staff, or leave this empty."
)
DEPARTMENTS_UNCHANGED = N_("These are already the user's departments: nothing was changed.")
LAST_ADMINISTRATOR = N_(
    "%(username)s is the last active administrator: give another user the administrator "
    "role first, so someone can still manage users."
)
CANNOT_DISABLE_SELF = N_("You cannot disable your own account: another administrator must.")
ALREADY_DISABLED = N_("This user is already disabled.")
ALREADY_ENABLED = N_("This user is already enabled.")
DISABLED_NO_PASSWORD = N_("This user is disabled: enable them before setting a password.")
DONE = {
    "added": N_(
        "The user was added. Give them their initial password in person: it is not shown again."
    ),
    "roles": N_("The roles were changed."),
    "roles-departments": N_(
        "The roles were changed. The user is no longer field staff, so they were also "
        "taken out of the departments they worked for (the ledger entry of the change "
        "names them)."
    ),
    "departments": N_("The departments were changed."),
    "disabled": N_("The user was disabled: they can no longer sign in or act."),
    "enabled": N_("The user was enabled: they can sign in again."),
    "password": N_("The password was set. Give it to the user in person: it is not shown again."),
}


def _role_options(page: Page) -> list[tuple[str, str]]:
    return [(role.value, page.gettext(label)) for role, label in ROLE_LABELS.items()]


def _role_names(page: Page, roles: Sequence[Role]) -> str:
    return ", ".join(page.gettext(ROLE_LABELS[role]) for role in roles)


def _departments_from(text: str) -> list[str]:
    """One department a line, white space runs collapsed, empty lines and repeats dropped."""
    names = (" ".join(line.split()) for line in text.splitlines())
    return list(dict.fromkeys(name for name in names if name))


def _department_errors(page: Page, names: Sequence[str], roles: Sequence[str]) -> str | None:
    """Why these departments cannot be given (None when they can): each must be a
    department name identity accepts, and only field staff work for departments (both
    identity's rules, checked here too so that a new user's form names every field)."""
    try:
        for name in names:
            check_department("departments", name)
        check_departments_fit_roles(roles, names)
    except InvalidUserInput as refused:
        return _refusal(page, refused)[1]
    return None


def _password_message(page: Page, code: Refusal) -> str:
    if code is Refusal.TOO_LONG:
        return page.gettext(PASSWORD_LONG, max=PASSWORD_MAX_LENGTH)
    if code is Refusal.BLANK:
        return page.gettext(PASSWORD_BLANK)
    message = PASSWORD_EMPTY if code is Refusal.EMPTY else PASSWORD_SHORT
    return page.gettext(message, min=PASSWORD_MIN_LENGTH)


def _refusal(
    page: Page, refused: InvalidUserInput, *, reason_field: str = "reason"
) -> tuple[str, str]:
    """Identity's refusal of one field as (field, message in the visitor's language),
    chosen by the field it names and its code (never by its English reason). Each
    form names its reason field (``reason_field``) after what it changes."""
    # One form field holds the departments that identity checks as add and remove.
    field = "departments" if refused.field in ("add", "remove") else refused.field
    field = reason_field if field == "reason" else field
    if refused.code is Refusal.CONTROL_CHARACTERS:
        return field, page.gettext(CONTROL_CHARACTERS)
    if field == "username":
        return field, page.gettext(USERNAME_INVALID)
    if field == "display_name":
        return field, page.gettext(DISPLAY_NAME_INVALID, max=DISPLAY_NAME_MAX)
    if field == "roles":
        empty = refused.code is Refusal.NO_ROLES
        return field, page.gettext(ROLES_EMPTY if empty else ROLES_UNKNOWN)
    if field == "password":
        return field, _password_message(page, refused.code)
    if refused.code is Refusal.NOT_FIELD_STAFF:
        return "departments", page.gettext(DEPARTMENTS_NOT_FIELD)
    if field == "departments":
        return field, page.gettext(DEPARTMENT_INVALID, max=DEPARTMENT_MAX)
    return field, refused.reason


# --- the list and adding a user -------------------------------------------------------
@router.get("/staff/users")
def users_page(page: PageDep, session: DbSession, _admin: Administrator) -> Response:
    rows = [
        {
            "user": user,
            "roles": _role_names(page, user.roles),
            "departments": user_departments(session, username=user.username),
        }
        for user in list_users(session)
    ]
    return page.render("staff/users.html", rows=rows)


def _new_user_form(
    page: Page,
    *,
    values: dict[str, str] | None = None,
    roles: Sequence[str] = (),
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return page.render(
        "staff/user_new.html",
        status_code=status_code,
        values=values or {},
        roles=list(roles),
        role_options=_role_options(page),
        role_hint=page.gettext(ROLE_HINT),
        departments_hint=page.gettext(DEPARTMENTS_HINT),
        password_min=PASSWORD_MIN_LENGTH,
        errors=errors or {},
    )


@router.get("/staff/users/new")
def new_user_form(page: PageDep, _admin: Administrator) -> Response:
    return _new_user_form(page)


@router.post("/staff/users/new")
def new_user(
    page: PageDep,
    session: DbSession,
    admin: Administrator,
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=2 * DISPLAY_NAME_MAX)] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    departments: Annotated[str, Form(max_length=DEPARTMENTS_MAX_LENGTH)] = "",
    password: Annotated[str, Form(max_length=2 * PASSWORD_MAX_LENGTH)] = "",
) -> Response:
    """Add an active user with an initial password (and, for field staff, their
    departments) in one transaction: user.added, then user.departments_changed."""
    chosen = roles or []
    values = {
        "username": trimmed(username),  # "rita\x1c" is refused, not made "rita"
        "display_name": display_name,
        "departments": departments,
    }
    wanted = _departments_from(departments)
    # Identity's own checks, each on its own, so one answer names every field at fault.
    checks: list[Callable[[], object]] = [
        lambda: check_username(values["username"]),
        lambda: check_roles(chosen),
        lambda: check_password(password),
    ]
    # Checked as typed (a blank one means the default): str.strip() would drop a
    # control character at an end rather than let identity refuse it.
    if display_name.strip() or text_error(display_name, page.gettext):
        checks.append(lambda: check_display_name(display_name))
    errors: dict[str, str] = {}
    for check in checks:
        try:
            check()
        except InvalidUserInput as refused:
            field, message = _refusal(page, refused)
            errors.setdefault(field, message)
    department_error = text_error(departments, page.gettext) or _department_errors(
        page, wanted, chosen
    )
    if department_error:
        errors["departments"] = department_error
    if not errors:
        try:
            added = add_user(
                session,
                username=values["username"],
                roles=chosen,
                display_name=display_name if display_name.strip() else None,
                password=password,
                by=admin.username,
                clock=app_state(page.request).clock,
            )
        except InvalidUserInput as refused:
            field, message = _refusal(page, refused)
            errors[field] = message
        except UsernameTaken:
            errors["username"] = page.gettext(USERNAME_TAKEN, username=values["username"])
        else:
            if wanted:
                change_departments(
                    session,
                    username=added.username,
                    add=wanted,
                    by=admin.username,
                    reason="departments given when the user was added",
                    clock=app_state(page.request).clock,
                )
            return page.redirect(f"/staff/users/{quote(added.username)}?done=added")
    return _new_user_form(page, values=values, roles=chosen, errors=errors, status_code=422)


# --- one user -------------------------------------------------------------------------
def _user_page(
    page: Page,
    session: Session,
    username: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    roles: Sequence[str] | None = None,
    status_code: int = 200,
) -> Response:
    user = get_user(session, username=username)  # UserNotFound: 404
    departments = user_departments(session, username=username)
    done = DONE.get(page.request.query_params.get("done", ""))
    guarded = agents_guarded_by(session, username=username) if not user.active else []
    return page.render(
        "staff/user.html",
        status_code=status_code,
        user=user,
        user_roles=_role_names(page, user.roles),
        departments=departments,
        roles=[role.value for role in user.roles] if roles is None else list(roles),
        role_options=_role_options(page),
        role_hint=page.gettext(ROLE_HINT),
        departments_hint=page.gettext(DEPARTMENTS_HINT),
        password_min=PASSWORD_MIN_LENGTH,
        notice=page.gettext(done) if done else None,
        guarded=guarded,
        is_self=page.principal is not None and page.principal.username == user.username,
        values={"departments": "\n".join(departments), **(values or {})},
        errors=errors or {},
    )


@router.get("/staff/users/{username}")
def user_page(page: PageDep, session: DbSession, _admin: Administrator, username: str) -> Response:
    return _user_page(page, session, username)


def _done(user: UserRead, what: str) -> str:
    return f"/staff/users/{quote(user.username)}?done={what}"


@router.post("/staff/users/{username}/roles")
def change_roles(
    page: PageDep,
    session: DbSession,
    admin: Administrator,
    username: str,
    roles: Annotated[list[str] | None, Form()] = None,
    roles_reason: Annotated[str, Form(max_length=REASON_MAX)] = "",
) -> Response:
    user = get_user(session, username=username)
    chosen = roles or []
    errors: dict[str, str] = {}
    status_code = 422
    if message := text_error(roles_reason, page.gettext, required=page.gettext(REASON_REQUIRED)):
        errors["roles_reason"] = message
    else:
        try:
            changed = set_roles(
                session,
                username=user.username,
                roles=chosen,
                by=admin.username,
                reason=roles_reason,
                clock=app_state(page.request).clock,
            )
        except InvalidUserInput as refused:
            field, message = _refusal(page, refused, reason_field="roles_reason")
            errors[field] = message
        except LastAdministrator:
            errors["roles"] = page.gettext(LAST_ADMINISTRATOR, username=user.username)
            status_code = 409
        else:
            now = changed.user
            if now.username == admin.username and Role.ADMINISTRATOR not in now.roles:
                return page.redirect("/staff")  # no longer theirs to manage
            done = "roles-departments" if changed.departments_removed else "roles"
            return page.redirect(_done(now, done))
    values = {"roles_reason": roles_reason}
    return _user_page(
        page, session, username, errors=errors, values=values, roles=chosen, status_code=status_code
    )


@router.post("/staff/users/{username}/departments")
def set_departments(
    page: PageDep,
    session: DbSession,
    admin: Administrator,
    username: str,
    departments: Annotated[str, Form(max_length=DEPARTMENTS_MAX_LENGTH)] = "",
    departments_reason: Annotated[str, Form(max_length=REASON_MAX)] = "",
) -> Response:
    """Make the user's departments the ones listed: identity adds the new ones and
    takes them out of the others (one user.departments_changed entry)."""
    user = get_user(session, username=username)
    held = user_departments(session, username=username)
    wanted = _departments_from(departments)
    errors: dict[str, str] = {}
    added = [name for name in wanted if name not in held]
    # The list as typed first: splitting it into lines and words would turn a control
    # character into a line break or a space rather than let identity refuse it.
    department_error = text_error(departments, page.gettext) or _department_errors(
        page, added, [role.value for role in user.roles]
    )
    if department_error:
        errors["departments"] = department_error
    elif set(wanted) == set(held):
        errors["departments"] = page.gettext(DEPARTMENTS_UNCHANGED)
    required = page.gettext(REASON_REQUIRED)
    if message := text_error(departments_reason, page.gettext, required=required):
        errors["departments_reason"] = message
    if not errors:
        try:
            change_departments(
                session,
                username=user.username,
                add=added,
                remove=[name for name in held if name not in wanted],
                by=admin.username,
                reason=departments_reason,
                clock=app_state(page.request).clock,
            )
        except InvalidUserInput as refused:
            field, message = _refusal(page, refused, reason_field="departments_reason")
            errors[field] = message
        else:
            return page.redirect(_done(user, "departments"))
    values = {"departments": departments, "departments_reason": departments_reason}
    return _user_page(page, session, username, errors=errors, values=values, status_code=422)


@router.post("/staff/users/{username}/status")
def change_status(
    page: PageDep,
    session: DbSession,
    admin: Administrator,
    username: str,
    action: Annotated[str, Form()] = "",
    status_reason: Annotated[str, Form(max_length=REASON_MAX)] = "",
) -> Response:
    """Disable (they can no longer sign in or act) or enable again, with a reason."""
    user = get_user(session, username=username)
    if action not in ("disable", "enable"):
        raise InvalidUserInput("action", Refusal.UNKNOWN_CHOICE, "must be disable or enable")
    if message := text_error(status_reason, page.gettext, required=page.gettext(REASON_REQUIRED)):
        errors = {"status_reason": message}
        return _user_page(page, session, username, errors=errors, status_code=422)
    switch = disable_user if action == "disable" else enable_user
    try:
        switch(
            session,
            username=user.username,
            by=admin.username,
            reason=status_reason,
            clock=app_state(page.request).clock,
        )
    except InvalidUserInput as refused:
        errors = dict([_refusal(page, refused, reason_field="status_reason")])
        values = {"status_reason": status_reason}
        return _user_page(page, session, username, errors=errors, values=values, status_code=422)
    except CannotDisableSelf:
        message = page.gettext(CANNOT_DISABLE_SELF)
    except LastAdministrator:
        message = page.gettext(LAST_ADMINISTRATOR, username=user.username)
    except UserDisabled:
        message = page.gettext(ALREADY_DISABLED)
    except UserAlreadyActive:
        message = page.gettext(ALREADY_ENABLED)
    else:
        return page.redirect(_done(user, "disabled" if action == "disable" else "enabled"))
    errors = {"status_reason": message}
    values = {"status_reason": status_reason}
    return _user_page(page, session, username, errors=errors, values=values, status_code=409)


@router.post("/staff/users/{username}/password")
def set_new_password(
    page: PageDep,
    session: DbSession,
    admin: Administrator,
    username: str,
    password: Annotated[str, Form(max_length=2 * PASSWORD_MAX_LENGTH)] = "",
) -> Response:
    """Set a new password for the user and end every web session they have open
    (user.password_set, by the administrator, with how many sessions ended)."""
    user = get_user(session, username=username)
    status_code = 422
    try:
        reset_password(
            session,
            username=user.username,
            password=password,
            by=admin.username,
            clock=app_state(page.request).clock,
        )
    except InvalidUserInput as refused:
        errors = dict([_refusal(page, refused)])
    except UserDisabled:
        errors, status_code = {"password": page.gettext(DISABLED_NO_PASSWORD)}, 409
    else:
        return page.redirect(_done(user, "password"))
    return _user_page(page, session, username, errors=errors, status_code=status_code)

"""cogov.identity: staff users, the roles they hold and the departments they work for.

Other packages name users by username (a staff id) and ask here whether a user is
active and holds a role. Passwords are argon2id hashes; every change is a ledger
entry without personal data.
"""

from cogov.identity.errors import (
    CannotDisableSelf,
    IdentityError,
    InvalidUserInput,
    LastAdministrator,
    MissingRole,
    Refusal,
    UserAlreadyActive,
    UserDisabled,
    UsernameTaken,
    UserNotFound,
)
from cogov.identity.models import User, UtcDateTime
from cogov.identity.schemas import RolesChanged, UserRead
from cogov.identity.service import (
    add_user,
    change_departments,
    disable_user,
    enable_user,
    find_users,
    get_user,
    has_role,
    list_users,
    require_active_user,
    require_role,
    set_roles,
    user_departments,
    verify_password,
)

__all__ = [
    "CannotDisableSelf",
    "IdentityError",
    "InvalidUserInput",
    "LastAdministrator",
    "MissingRole",
    "Refusal",
    "RolesChanged",
    "User",
    "UserAlreadyActive",
    "UserDisabled",
    "UserNotFound",
    "UserRead",
    "UsernameTaken",
    "UtcDateTime",
    "add_user",
    "change_departments",
    "disable_user",
    "enable_user",
    "find_users",
    "get_user",
    "has_role",
    "list_users",
    "require_active_user",
    "require_role",
    "set_roles",
    "user_departments",
    "verify_password",
]

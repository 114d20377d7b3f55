"""What the identity package hands out: plain, frozen views of users."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from cogov.core.types import Role


class UserRead(BaseModel):
    """A staff user as other packages see it (never the password hash)."""

    model_config = ConfigDict(frozen=True)

    id: str
    username: str
    display_name: str
    roles: tuple[Role, ...]  # sorted, no repeats
    active: bool
    has_password: bool
    created_at: datetime
    disabled_at: datetime | None

    @property
    def actor(self) -> str:
        """How this user is named on ledger entries."""
        return f"user:{self.username}"

    def holds(self, role: Role) -> bool:
        """True when the user is active and holds ``role``."""
        return self.active and role in self.roles


class RolesChanged(BaseModel):
    """What a role change did: the user as it is now, and the departments they were
    taken out of in the same transaction because they are no longer field staff
    (empty when none)."""

    model_config = ConfigDict(frozen=True)

    user: UserRead
    departments_removed: tuple[str, ...]  # sorted

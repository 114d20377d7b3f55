"""What the access package hands out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from cogov.identity.schemas import UserRead


class ApiTokenRead(BaseModel):
    """A token as listed: never the secret, never its hash."""

    model_config = ConfigDict(frozen=True)

    id: str
    username: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IssuedApiToken(BaseModel):
    """A new token: ``secret`` appears here once and is stored nowhere."""

    model_config = ConfigDict(frozen=True)

    token: ApiTokenRead
    secret: str


class WebSessionRead(BaseModel):
    """A live web session and the user behind it (checked active just now)."""

    model_config = ConfigDict(frozen=True)

    user: UserRead
    csrf_token: str
    expires_at: datetime


class SignedIn(BaseModel):
    """A new web session: ``secret`` goes into the cookie and is stored nowhere."""

    model_config = ConfigDict(frozen=True)

    session: WebSessionRead
    secret: str


class PasswordReset(BaseModel):
    """A password just set: the user, and how many of their web sessions it ended."""

    model_config = ConfigDict(frozen=True)

    user: UserRead
    sessions_ended: int


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    # Seconds until one token is available again (0 when allowed).
    retry_after: float

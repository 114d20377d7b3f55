"""Use cases of access. Keyword-only, take a session, never commit.

Issuing and revoking an API token are ledger entries (who gave a machine which
power, and who took it back); the secret and its hash never appear there. So is a
password change, which ends the user's web sessions (``reset_password``).
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cogov.core.clock import Clock, SystemClock
from cogov.core.ids import new_id
from cogov.core.types import Role
from cogov.identity import service as identity
from cogov.identity.access import repository
from cogov.identity.access.errors import InvalidCredentials, InvalidTokenInput, TokenNotFound
from cogov.identity.access.models import ApiToken, WebSession
from cogov.identity.access.rules import (
    check_token_name,
    new_api_token_secret,
    new_secret,
    secret_hash,
    shown_prefix,
    wait_for_token,
)
from cogov.identity.access.schemas import (
    ApiTokenRead,
    IssuedApiToken,
    PasswordReset,
    RateDecision,
    SignedIn,
    WebSessionRead,
)
from cogov.identity.errors import UserDisabled, UserNotFound
from cogov.identity.schemas import UserRead
from cogov.ledger import append

_SYSTEM_CLOCK = SystemClock()
# Writing "last used" on every request would turn each read into a write.
LAST_USED_GRANULARITY = timedelta(minutes=1)
# A session's last-seen time is refreshed at most this often, for the same reason.
LAST_SEEN_GRANULARITY = timedelta(minutes=1)


def _read_token(row: ApiToken) -> ApiTokenRead:
    return ApiTokenRead(
        id=row.id,
        username=row.username,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _active_user(session: Session, username: str) -> UserRead:
    try:
        return identity.require_active_user(session, username=username)
    except (UserNotFound, UserDisabled):
        raise InvalidCredentials() from None


def issue_api_token(
    session: Session,
    *,
    username: str,
    name: str,
    by: str | None = None,
    expires_at: datetime | None = None,
    clock: Clock | None = None,
) -> IssuedApiToken:
    """Issue a token for ``username``. ``by``: the user themself or an administrator
    (None: the system operator at the machine, e.g. the CLI)."""
    name = check_token_name(name)
    now = (clock or _SYSTEM_CLOCK).now()
    if expires_at is not None and expires_at <= now:
        raise InvalidTokenInput("expires_at", "must be in the future")
    user = identity.require_active_user(session, username=username)
    actor = _issuer_actor(session, by=by, owner=username)
    secret = new_api_token_secret()
    row = ApiToken(
        id=new_id(),
        username=user.username,
        name=name,
        token_hash=secret_hash(secret),
        prefix=shown_prefix(secret),
        created_at=now,
        expires_at=expires_at,
        last_used_at=None,
        revoked_at=None,
    )
    repository.add(session, row)
    append(
        session,
        kind="access.token_issued",
        actor=actor,
        payload={
            "token_id": row.id,
            "username": user.username,
            # The token's label (what it is for); "name" keys are kept out of the ledger.
            "purpose": name,
            "roles": [role.value for role in user.roles],
        },
        clock=clock,
    )
    return IssuedApiToken(token=_read_token(row), secret=secret)


def _issuer_actor(session: Session, *, by: str | None, owner: str) -> str:
    if by is None:
        return identity.SYSTEM_ACTOR
    if by == owner:
        return identity.require_active_user(session, username=by).actor
    return identity.require_role(session, username=by, role=Role.ADMINISTRATOR).actor


def revoke_api_token(
    session: Session, *, token_id: str, by: str | None = None, clock: Clock | None = None
) -> ApiTokenRead:
    """Revoke a token at once. ``by``: its owner or an administrator (None: the system
    operator). Revoking a revoked token changes nothing and writes nothing."""
    row = repository.token_by_id(session, token_id)
    if row is None:
        raise TokenNotFound(token_id)
    actor = _issuer_actor(session, by=by, owner=row.username)
    if row.revoked_at is not None:
        return _read_token(row)
    row.revoked_at = (clock or _SYSTEM_CLOCK).now()
    session.flush()
    append(
        session,
        kind="access.token_revoked",
        actor=actor,
        payload={"token_id": row.id, "username": row.username},
        clock=clock,
    )
    return _read_token(row)


def list_api_tokens(
    session: Session, *, username: str | None = None, include_revoked: bool = False
) -> list[ApiTokenRead]:
    rows = repository.tokens(session, username=username, include_revoked=include_revoked)
    return [_read_token(row) for row in rows]


def get_api_token(session: Session, *, token_id: str) -> ApiTokenRead:
    row = repository.token_by_id(session, token_id)
    if row is None:
        raise TokenNotFound(token_id)
    return _read_token(row)


def authenticate_api_token(
    session: Session, *, secret: str, clock: Clock | None = None
) -> tuple[UserRead, ApiTokenRead]:
    """The active user behind a token; InvalidCredentials when the token is unknown,
    revoked or expired, or its user is disabled."""
    row = repository.token_by_hash(session, secret_hash(secret))
    now = (clock or _SYSTEM_CLOCK).now()
    if row is None or row.revoked_at is not None:
        raise InvalidCredentials()
    if row.expires_at is not None and row.expires_at <= now:
        raise InvalidCredentials()
    user = _active_user(session, row.username)
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRANULARITY:
        row.last_used_at = now
        session.flush()
    return user, _read_token(row)


def sign_in_with_password(
    session: Session,
    *,
    username: str,
    password: str,
    lifetime: timedelta,
    clock: Clock | None = None,
) -> SignedIn:
    """Check the password and open a web session. InvalidCredentials for a wrong
    password, an unknown or a disabled user alike."""
    user = identity.verify_password(session, username=username, password=password)
    if user is None:
        raise InvalidCredentials()
    return open_web_session(session, user=user, lifetime=lifetime, clock=clock)


def open_web_session(
    session: Session, *, user: UserRead, lifetime: timedelta, clock: Clock | None = None
) -> SignedIn:
    now = (clock or _SYSTEM_CLOCK).now()
    secret = new_secret()
    row = WebSession(
        id_hash=secret_hash(secret),
        username=user.username,
        csrf_token=new_secret(),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        ended=False,
    )
    repository.add(session, row)
    read = WebSessionRead(user=user, csrf_token=row.csrf_token, expires_at=row.expires_at)
    return SignedIn(session=read, secret=secret)


def resolve_web_session(
    session: Session, *, secret: str, idle_timeout: timedelta, clock: Clock | None = None
) -> WebSessionRead:
    """The live session behind a cookie; InvalidCredentials when it is unknown,
    ended, past its expiry or idle too long, or its user is disabled."""
    row = repository.web_session(session, secret_hash(secret))
    now = (clock or _SYSTEM_CLOCK).now()
    if row is None or row.ended or row.expires_at <= now:
        raise InvalidCredentials()
    if now - row.last_seen_at > idle_timeout:
        raise InvalidCredentials()
    user = _active_user(session, row.username)
    if now - row.last_seen_at >= LAST_SEEN_GRANULARITY:
        row.last_seen_at = now
        session.flush()
    return WebSessionRead(user=user, csrf_token=row.csrf_token, expires_at=row.expires_at)


def end_web_session(session: Session, *, secret: str) -> None:
    """Sign out: the cookie's session ends for good (unknown secrets are ignored)."""
    row = repository.web_session(session, secret_hash(secret))
    if row is not None and not row.ended:
        row.ended = True
        session.flush()


def reset_password(
    session: Session,
    *,
    username: str,
    password: str,
    by: str | None = None,
    clock: Clock | None = None,
) -> PasswordReset:
    """Set or replace ``username``'s password and end every web session they have
    open, in one transaction: a session opened with the old password (perhaps by
    whoever made the reset necessary) must not outlive it. ``by``: the user themself
    or an administrator (None: the system operator at the machine).

    API tokens are left as they are: they were issued on purpose to a machine, are
    not derived from the password, and are revoked one by one (``revoke_api_token``).

    Ledger: user.password_set with the username and how many sessions were ended,
    never the password or its hash. Refusals: InvalidUserInput (password),
    UserNotFound, UserDisabled, MissingRole (``by`` someone else, not an administrator)."""
    user, actor = identity.replace_password_hash(
        session, username=username, password=password, by=by
    )
    ended = repository.end_sessions_of(session, user.username)
    append(
        session,
        kind="user.password_set",
        actor=actor,
        payload={"username": user.username, "sessions_ended": ended},
        clock=clock,
    )
    return PasswordReset(user=user, sessions_ended=ended)


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def take_rate_token(
    session: Session,
    *,
    key: str,
    capacity: float,
    per_second: float,
    clock: Clock | None = None,
) -> RateDecision:
    """Take one token from ``key``'s bucket (full buckets hold ``capacity``, refilled at
    ``per_second``). Run it in its own short transaction so the take counts even when
    the request it guards fails."""
    if capacity < 1 or per_second <= 0:
        raise InvalidTokenInput("capacity", "a bucket needs capacity >= 1 and a refill rate > 0")
    now = (clock or _SYSTEM_CLOCK).now().timestamp()
    granted, left = repository.take_from_bucket(
        session, key=key, now=now, capacity=capacity, per_second=per_second
    )
    if granted:
        return RateDecision(allowed=True, retry_after=0.0)
    return RateDecision(allowed=False, retry_after=wait_for_token(left, per_second=per_second))


def forget_stale_access(
    session: Session, *, bucket_full_after: timedelta, clock: Clock | None = None
) -> tuple[int, int]:
    """Housekeeping: delete ended or expired sessions and buckets that are full again.
    Returns (sessions deleted, buckets deleted)."""
    now = (clock or _SYSTEM_CLOCK).now()
    sessions = repository.delete_expired_sessions(session, now)
    buckets = repository.delete_full_buckets(
        session, older_than=(now - bucket_full_after).timestamp()
    )
    return sessions, buckets

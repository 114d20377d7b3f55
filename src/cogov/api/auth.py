"""Who is asking: bearer API tokens for machines, session cookies for browsers.

Dependencies for routes (the web UI uses the same ones):

* ``OptionalPrincipal`` - the signed-in staff user, or None for the public;
* ``CurrentPrincipal`` - the signed-in staff user, else 401;
* ``require_roles(Role.X, ...)`` - a dependency giving the user if they hold any of
  the roles, else 403 (401 when nobody is signed in);
* ``csrf_protect`` - for cookie-authenticated state-changing requests: the request
  must echo the session's CSRF token in the ``X-CSRF-Token`` header or the
  ``csrf_token`` form field. Bearer-token requests need no CSRF token (a browser
  never attaches one on its own). Every role dependency above already includes it.

Routes that only read (ledger verify and proofs, audits) take
``require_roles(..., reading=True)`` and a ``SignedInReadSession``: the user is
signed in within a short unit of work of its own, committed before the route's
read-only session begins (``cogov.api.deps.ReadSession``, as Open311's reads use).
Routes that write sign in within their own unit of work.

Sign-in and sign-out for cookie sessions: :func:`sign_in` and :func:`sign_out`.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

import anyio
from fastapi import Depends, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from cogov.api.deps import (
    DbSession,
    get_clock,
    get_settings,
    request_read_only,
    request_unit_of_work,
)
from cogov.core.errors import CogovError
from cogov.core.types import Role
from cogov.identity.access import service as access
from cogov.identity.access.errors import InvalidCredentials
from cogov.identity.access.schemas import SignedIn
from cogov.identity.schemas import UserRead

SESSION_COOKIE = "cogov_session"
# Double-submit cookie for forms shown before sign-in (the sign-in form, citizen forms).
CSRF_COOKIE = "cogov_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="apiToken",
    description="An API token from `cogov tokens issue USERNAME` or POST /api/v1/auth/tokens.",
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="sessionCookie",
    description="The web session cookie set by POST /api/v1/auth/session; state-changing "
    f"requests must also send the session's CSRF token in `{CSRF_HEADER}`.",
)


class NotAuthenticated(CogovError):
    """No valid credentials came with a request that needs them (HTTP 401)."""

    def __init__(self, message: str = "sign in: send a bearer API token or a session cookie"):
        super().__init__(message)


class NotPermitted(CogovError):
    """The signed-in user may not do this (HTTP 403)."""


class CsrfFailed(NotPermitted):
    def __init__(self) -> None:
        super().__init__(
            f"CSRF token missing or wrong: send the session's token in {CSRF_HEADER} "
            f"or the {CSRF_FORM_FIELD} form field"
        )


@dataclass(frozen=True)
class Principal:
    """A signed-in staff user and how they proved it."""

    user: UserRead
    method: Literal["token", "session"]
    token_id: str | None = None
    csrf_token: str | None = None

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def actor(self) -> str:
        return self.user.actor

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(self.user.roles)

    def holds(self, *roles: Role) -> bool:
        return any(self.user.holds(role) for role in roles)


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
SessionCookie = Annotated[str | None, Depends(cookie_scheme)]


def _authenticate(
    request: Request,
    session: Session,
    bearer: HTTPAuthorizationCredentials | None,
    cookie: str | None,
) -> Principal | None:
    """Who sent the request; writes a token's last use or a web session's last-seen
    (now and then) in ``session``."""
    clock = get_clock(request)
    if bearer is not None:
        # A wrong token is an error even where anonymous access is allowed: a client
        # that meant to sign in must learn that it did not.
        try:
            user, token = access.authenticate_api_token(
                session, secret=bearer.credentials, clock=clock
            )
        except InvalidCredentials:
            raise NotAuthenticated("the API token is unknown, revoked or expired") from None
        return Principal(user=user, method="token", token_id=token.id)
    if cookie:
        settings = get_settings(request)
        try:
            web = access.resolve_web_session(
                session,
                secret=cookie,
                idle_timeout=timedelta(minutes=settings.session_idle_minutes),
                clock=clock,
            )
        except InvalidCredentials:
            # An expired cookie on a public page is no error: the visitor is simply public.
            return None
        return Principal(user=web.user, method="session", csrf_token=web.csrf_token)
    return None


def _principal(
    request: Request, session: DbSession, bearer: Bearer, cookie: SessionCookie
) -> Principal | None:
    """Signed in within the request's unit of work, which the route's changes share."""
    return _authenticate(request, session, bearer, cookie)


async def _principal_before_reading(
    request: Request, bearer: Bearer, cookie: SessionCookie
) -> Principal | None:
    """Signed in within a short unit of work of its own, committed before a route that
    only reads begins its read-only session (:data:`SignedInReadSession`): the long
    read (a ledger verify, an audit) then holds neither SQLite's write lock nor the
    writers' admission gate, and runs READ ONLY on PostgreSQL, while sign-in may
    still write a token's last use or a web session's last-seen."""
    if bearer is None and not cookie:
        return None
    async with request_unit_of_work(request) as session:
        return await anyio.to_thread.run_sync(_authenticate, request, session, bearer, cookie)


async def _form_csrf(request: Request) -> str | None:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FORM_FIELD)
        return value if isinstance(value, str) else None
    return None


async def _check_csrf(request: Request, principal: Principal | None) -> None:
    """Refuse a cookie-authenticated unsafe request without the session's CSRF token."""
    if request.method in SAFE_METHODS or principal is None or principal.method != "session":
        return
    given = request.headers.get(CSRF_HEADER) or await _form_csrf(request)
    if principal.csrf_token is None or not access.csrf_matches(principal.csrf_token, given):
        raise CsrfFailed()


async def csrf_protect(
    request: Request, principal: Annotated[Principal | None, Depends(_principal)]
) -> Principal | None:
    """The signed-in user (or None), CSRF-checked (:func:`_check_csrf`)."""
    await _check_csrf(request, principal)
    return principal


async def _csrf_protect_before_reading(
    request: Request, principal: Annotated[Principal | None, Depends(_principal_before_reading)]
) -> Principal | None:
    """As :func:`csrf_protect`, signed in by :func:`_principal_before_reading`."""
    await _check_csrf(request, principal)
    return principal


async def verify_anonymous_csrf(request: Request) -> None:
    """Double-submit check for cookie-less forms (e.g. the sign-in form): the form
    field or header must equal the ``cogov_csrf`` cookie set by :func:`csrf_cookie_token`."""
    cookie = request.cookies.get(CSRF_COOKIE)
    given = request.headers.get(CSRF_HEADER) or await _form_csrf(request)
    if cookie is None or not access.csrf_matches(cookie, given):
        raise CsrfFailed()


def csrf_cookie_token(request: Request, response: Response) -> str:
    """The double-submit token for a page's forms, setting the cookie if it is new."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(32)
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=get_settings(request).session_cookie_secure,
            path="/",
        )
    return token


OptionalPrincipal = Annotated[Principal | None, Depends(csrf_protect)]
# For routes that only read, with a SignedInReadSession (see _principal_before_reading).
OptionalPrincipalBeforeReading = Annotated[Principal | None, Depends(_csrf_protect_before_reading)]


def current_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise NotAuthenticated()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role, reading: bool = False) -> Callable[..., Principal]:
    """A dependency: the signed-in user if they hold any of ``roles``, else 403 (401
    when nobody is signed in). ``reading``: for a route that only reads, in a
    :data:`SignedInReadSession`; the user is signed in before its read begins."""
    wanted = ", ".join(role.value for role in roles)

    def holding(principal: Principal | None) -> Principal:
        if principal is None:
            raise NotAuthenticated()
        if not principal.holds(*roles):
            raise NotPermitted(f"this needs one of the roles: {wanted}")
        return principal

    def dependency(principal: OptionalPrincipal) -> Principal:
        return holding(principal)

    def dependency_before_reading(principal: OptionalPrincipalBeforeReading) -> Principal:
        return holding(principal)

    chosen = dependency_before_reading if reading else dependency
    chosen.__name__ = f"require_{'_or_'.join(role.value for role in roles)}"
    return chosen


async def _read_session_after_sign_in(
    request: Request, _signed_in: OptionalPrincipalBeforeReading
) -> AsyncIterator[Session]:
    # Sign-in is a sub-dependency, so its unit of work has committed (and left the
    # writers' gate) before this session enters the readers' gate: a request never
    # holds one gate while it waits for the other (on PostgreSQL they are one).
    async with request_read_only(request) as session:
        yield session


# The read-only session (cogov.api.deps.ReadSession) of a route that signs its user in.
SignedInReadSession = Annotated[Session, Depends(_read_session_after_sign_in, scope="function")]


def sign_in(
    request: Request, response: Response, session: Session, *, username: str, password: str
) -> SignedIn:
    """Check a password, open a web session and set its cookie on ``response``.
    Raises InvalidCredentials (HTTP 401) when the password, user or account is wrong."""
    settings = get_settings(request)
    signed_in = access.sign_in_with_password(
        session,
        username=username,
        password=password,
        lifetime=timedelta(hours=settings.session_lifetime_hours),
        clock=get_clock(request),
    )
    # Housekeeping at a moment that is rare and cheap: ended or expired sessions, and
    # rate buckets idle long enough to be full again, hold nothing worth keeping.
    per_minute = settings.rate_limit_per_minute or 1.0
    access.forget_stale_access(
        session,
        bucket_full_after=timedelta(minutes=settings.rate_limit_burst / per_minute + 1),
        clock=get_clock(request),
    )
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.secret,
        max_age=int(settings.session_lifetime_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
        path="/",
    )
    return signed_in


def sign_out(request: Request, response: Response, session: Session) -> None:
    """End the request's web session (if any) and clear its cookie."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        access.end_web_session(session, secret=secret)
    response.delete_cookie(SESSION_COOKIE, path="/")

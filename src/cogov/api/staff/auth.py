"""Sign-in, sign-out, who am I, and API tokens (/api/v1/auth)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, Field

from cogov.api.auth import CurrentPrincipal, NotPermitted, sign_in, sign_out
from cogov.api.deps import ClockDep, DbSession
from cogov.api.errors import responses
from cogov.api.ratelimit import public_post_limit
from cogov.core.types import Role
from cogov.identity.access import ApiTokenRead, TokenNotFound
from cogov.identity.access import service as access

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    username: str
    display_name: str
    roles: list[Role]
    method: str
    csrf_token: str | None = Field(
        default=None,
        description="For cookie sessions: send it in X-CSRF-Token on state-changing requests.",
    )


class SessionStarted(BaseModel):
    username: str
    roles: list[Role]
    csrf_token: str
    expires_at: datetime


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="What the token is for.")
    username: str | None = Field(
        default=None, description="Whose token (administrators only); default: your own."
    )
    expires_at: datetime | None = None


class TokenOut(BaseModel):
    id: str
    username: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedTokenOut(BaseModel):
    token: TokenOut
    secret: str = Field(description="The token itself. Shown once; only its hash is stored.")


@router.post(
    "/session",
    response_model=SessionStarted,
    summary="Sign in with a password; sets the HttpOnly session cookie",
    responses=responses(401, 422, 429),
    dependencies=[Depends(public_post_limit)],
)
def create_session(
    credentials: Credentials, request: Request, response: Response, session: DbSession
) -> SessionStarted:
    started = sign_in(
        request, response, session, username=credentials.username, password=credentials.password
    )
    web = started.session
    return SessionStarted(
        username=web.user.username,
        roles=list(web.user.roles),
        csrf_token=web.csrf_token,
        expires_at=web.expires_at,
    )


@router.delete(
    "/session",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out (ends the cookie's session)",
    responses=responses(401, 403),
)
def delete_session(
    _principal: CurrentPrincipal, request: Request, response: Response, session: DbSession
) -> Response:
    sign_out(request, response, session)
    response.status_code = status.HTTP_204_NO_CONTENT
    return response


@router.get("/me", response_model=Me, summary="Who is signed in", responses=responses(401))
def me(principal: CurrentPrincipal) -> Me:
    return Me(
        username=principal.username,
        display_name=principal.user.display_name,
        roles=list(principal.user.roles),
        method=principal.method,
        csrf_token=principal.csrf_token,
    )


def _token_out(token: ApiTokenRead) -> TokenOut:
    return TokenOut(**token.model_dump())


@router.get(
    "/tokens",
    response_model=list[TokenOut],
    summary="API tokens: your own, or everyone's for administrators (?all=true)",
    responses=responses(401, 403),
)
def list_tokens(
    principal: CurrentPrincipal,
    session: DbSession,
    everyone: Annotated[
        bool, Query(alias="all", description="Every user's tokens (administrators only).")
    ] = False,
    include_revoked: bool = False,
) -> list[TokenOut]:
    if everyone and not principal.holds(Role.ADMINISTRATOR):
        raise NotPermitted("listing every user's tokens needs the administrator role")
    username = None if everyone else principal.username
    tokens = access.list_api_tokens(session, username=username, include_revoked=include_revoked)
    return [_token_out(token) for token in tokens]


@router.post(
    "/tokens",
    response_model=IssuedTokenOut,
    status_code=status.HTTP_201_CREATED,
    summary="Issue an API token (the secret is in this response only)",
    responses=responses(401, 403, 404, 422),
)
def issue_token(
    body: TokenRequest, principal: CurrentPrincipal, session: DbSession, clock: ClockDep
) -> IssuedTokenOut:
    issued = access.issue_api_token(
        session,
        username=body.username or principal.username,
        name=body.name,
        by=principal.username,
        expires_at=body.expires_at,
        clock=clock,
    )
    return IssuedTokenOut(token=_token_out(issued.token), secret=issued.secret)


@router.delete(
    "/tokens/{token_id}",
    response_model=TokenOut,
    summary="Revoke an API token (its owner or an administrator)",
    responses=responses(401, 403, 404),
)
def revoke_token(
    token_id: str, principal: CurrentPrincipal, session: DbSession, clock: ClockDep
) -> TokenOut:
    token = access.get_api_token(session, token_id=token_id)
    if token.username != principal.username and not principal.holds(Role.ADMINISTRATOR):
        # Someone else's token looks the same as no token: ids reveal nothing.
        raise TokenNotFound(token_id)
    return _token_out(
        access.revoke_api_token(session, token_id=token_id, by=principal.username, clock=clock)
    )

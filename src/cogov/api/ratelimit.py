"""Rate limits on public POSTs: a token bucket per client, kept in the database.

The take runs in a transaction of its own, before the request's unit of work, so a
request that fails still counts (a flood of bad requests is limited too) and the
bucket holds across every worker process and server sharing the database.
"""

from __future__ import annotations

from fastapi import Request

from cogov.api.deps import app_state
from cogov.api.errors import RateLimited
from cogov.identity.access import service as access


def client_address(request: Request) -> str:
    """The client's address: the first X-Forwarded-For hop when the proxy is trusted."""
    if app_state(request).settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first
    return request.client.host if request.client else "unknown"


def enforce_rate_limit(request: Request, *, key: str | None = None) -> None:
    """Take one token from the client's bucket (``key`` overrides the address, e.g.
    an Open311 api_key); raise RateLimited (HTTP 429) when it is empty."""
    state = app_state(request)
    per_minute = state.settings.rate_limit_per_minute
    if per_minute <= 0:
        return
    bucket = key or f"ip:{client_address(request)}"
    with state.sessions.begin() as session:
        decision = access.take_rate_token(
            session,
            key=bucket[:200],
            capacity=float(state.settings.rate_limit_burst),
            per_second=per_minute / 60.0,
            clock=state.clock,
        )
    if not decision.allowed:
        raise RateLimited(decision.retry_after)


def public_post_limit(request: Request) -> None:
    """A dependency for anonymous state-changing routes."""
    enforce_rate_limit(request)

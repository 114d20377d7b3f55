"""Domain errors become HTTP here, at the edge, and nowhere else.

| error | status |
| --- | --- |
| ValidationFailed (or an error with ``field`` and ``reason``), bad input | 422 (Open311: 400) |
| NotAuthenticated, InvalidCredentials | 401 |
| NotPermitted (api, registry), MissingRole, NotAReviewer, ConflictOfInterest, CSRF | 403 |
| NotFound | 404 |
| Conflict, and any other refusal by a domain rule | 409 |
| RateLimited | 429 with Retry-After |

Under ``/open311/`` errors take the GeoReport v2 shape (a list of ``{code,
description}``, JSON or XML by the path's suffix); elsewhere a JSON ``ErrorBody``.
Another part of the application (the web UI) can render its own paths' errors by
``register_error_renderer(app, "/prefix", renderer)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from cogov.api.auth import NotAuthenticated, NotPermitted
from cogov.audit import BadColumn, MissingColumn, UnknownGroup
from cogov.core.errors import CogovError, Conflict, NotFound, ValidationFailed
from cogov.identity.access.errors import InvalidCredentials
from cogov.identity.errors import MissingRole
from cogov.registry import NotPermitted as RegistryNotPermitted
from cogov.review import ConflictOfInterest, NotAReviewer


class RateLimited(CogovError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many requests: try again in {math.ceil(retry_after)} s")
        self.retry_after = retry_after


class ErrorBody(BaseModel):
    """Every error of the staff API: the status, a short kind, a readable message,
    and for bad input the field and the reason."""

    status: int
    error: str
    message: str
    field: str | None = None
    reason: str | None = None
    code: str | None = Field(
        default=None,
        description="For machines, where the refusal has one: a stable code for why "
        "(e.g. identity's `no_roles`, `unknown_role`, `not_field_staff`); `reason` says "
        "the same for people.",
    )


_MEANINGS = {
    401: "Not signed in, or the credentials are not valid",
    403: "Signed in, but this role may not do it (or the CSRF token is missing)",
    404: "No such thing (or not visible to you)",
    409: "Refused in the current state",
    422: "Bad input: `field` names what, `reason` says why",
    429: "Too many requests: see Retry-After",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error statuses a route can answer."""
    return {code: {"model": ErrorBody, "description": _MEANINGS[code]} for code in statuses}


@dataclass(frozen=True)
class Problem:
    status: int
    kind: str
    message: str
    field: str | None = None
    reason: str | None = None
    headers: dict[str, str] | None = None
    code: str | None = None


ErrorRenderer = Callable[[Request, Problem], Response]
_RENDERERS_KEY = "cogov_error_renderers"


def register_error_renderer(app: FastAPI, prefix: str, renderer: ErrorRenderer) -> None:
    """Render errors of paths under ``prefix`` with ``renderer`` (longest prefix wins)."""
    renderers: dict[str, ErrorRenderer] = getattr(app.state, _RENDERERS_KEY)
    renderers[prefix] = renderer


def problem_for(exc: Exception) -> Problem:
    """The HTTP meaning of an exception."""
    if isinstance(exc, RateLimited):
        return Problem(
            429,
            "rate_limited",
            exc.message,
            headers={"Retry-After": str(math.ceil(exc.retry_after))},
        )
    if isinstance(exc, NotAuthenticated | InvalidCredentials):
        return Problem(
            401, "not_authenticated", exc.message, headers={"WWW-Authenticate": "Bearer"}
        )
    if isinstance(
        exc, NotPermitted | MissingRole | RegistryNotPermitted | NotAReviewer | ConflictOfInterest
    ):
        return Problem(403, "forbidden", exc.message)
    if isinstance(exc, NotFound):
        return Problem(404, "not_found", exc.message)
    if isinstance(exc, ValidationFailed):
        code = getattr(exc, "code", None)  # e.g. identity.Refusal, a str enum
        return Problem(
            422, "validation_failed", exc.message, exc.field, exc.reason,
            code=str(code) if code is not None else None,
        )  # fmt: skip
    if isinstance(exc, UnknownGroup | MissingColumn | BadColumn):
        # The audit names CLI flags; over HTTP they are the query parameters.
        parameter = "reference" if isinstance(exc, UnknownGroup) else "group"
        return Problem(422, "validation_failed", exc.message, parameter, exc.message)
    if isinstance(exc, CogovError):
        field, reason = getattr(exc, "field", None), getattr(exc, "reason", None)
        if isinstance(field, str) and isinstance(reason, str):
            return Problem(422, "validation_failed", exc.message, field, reason)
        kind = "conflict" if isinstance(exc, Conflict) else "refused"
        return Problem(409, kind, exc.message)
    if isinstance(exc, RequestValidationError):
        return _request_validation_problem(exc)
    if isinstance(exc, StarletteHTTPException):
        return Problem(
            exc.status_code,
            _HTTP_KINDS.get(exc.status_code, "http_error"),
            str(exc.detail),
            headers=dict(exc.headers) if exc.headers else None,
        )
    return Problem(500, "internal_error", "internal error: the request was not carried out")


_HTTP_KINDS = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}


def _request_validation_problem(exc: RequestValidationError) -> Problem:
    errors = exc.errors()
    first: dict[str, Any] = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(location) or "request"
    reason = str(first.get("msg", "invalid"))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return Problem(422, "validation_failed", f"{field}: {reason}{more}", field, reason)


def json_problem(problem: Problem) -> JSONResponse:
    body = ErrorBody(
        status=problem.status,
        error=problem.kind,
        message=problem.message,
        field=problem.field,
        reason=problem.reason,
        code=problem.code,
    )
    return JSONResponse(body.model_dump(), status_code=problem.status, headers=problem.headers)


def _render(request: Request, exc: Exception) -> Response:
    problem = problem_for(exc)
    renderers: dict[str, ErrorRenderer] = getattr(request.app.state, _RENDERERS_KEY)
    path = request.url.path
    for prefix in sorted(renderers, key=len, reverse=True):
        if path.startswith(prefix):
            return renderers[prefix](request, problem)
    return json_problem(problem)


async def _handle(request: Request, exc: Exception) -> Response:
    return _render(request, exc)


def install(app: FastAPI) -> None:
    setattr(app.state, _RENDERERS_KEY, {})
    # ``Exception``: anything unforeseen still answers in the caller's error shape (500,
    # nothing carried out: the unit of work rolled back); the server logs the traceback.
    for kind in (CogovError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(kind, _handle)

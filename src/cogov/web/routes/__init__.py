"""Every router of the web UI, and the path prefixes whose errors render as pages."""

from __future__ import annotations

from fastapi import APIRouter

from cogov.web.routes import (
    appeals,
    audits,
    citizen,
    field,
    ledger,
    registry,
    review,
    site,
    users,
)

ROUTERS: list[APIRouter] = [
    site.router,
    citizen.router,
    registry.router,
    ledger.router,
    audits.router,
    review.router,
    appeals.router,
    field.router,
    users.router,
]

# Errors under these paths are pages (in the visitor's language), not JSON. The home
# page "/" is matched exactly by its route and cannot fail in a way that needs one.
WEB_PREFIXES: tuple[str, ...] = (
    "/requests",
    "/track",
    "/register",
    "/audits",
    "/staff",
    "/language",
    "/static",
)

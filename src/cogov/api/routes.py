"""Every router of the HTTP service, in the order they are included."""

from __future__ import annotations

from fastapi import APIRouter

from cogov.api import open311
from cogov.api.staff import appeals as appeal_routes
from cogov.api.staff import audits as audit_routes
from cogov.api.staff import auth as auth_routes
from cogov.api.staff import ledger as ledger_routes
from cogov.api.staff import registry as registry_routes
from cogov.api.staff import requests as request_routes
from cogov.api.staff import review as review_routes
from cogov.api.staff import users as user_routes
from cogov.api.system import router as system_router

ROUTERS: list[APIRouter] = [
    system_router,
    open311.router,
    auth_routes.router,
    ledger_routes.router,
    registry_routes.router,
    audit_routes.router,
    review_routes.router,
    appeal_routes.router,
    request_routes.router,
    user_routes.router,
]

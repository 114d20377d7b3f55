"""How the web UI joins the HTTP application: its routers and its error pages."""

from __future__ import annotations

from fastapi import FastAPI

from cogov.api.errors import register_error_renderer
from cogov.web.pages import error_page
from cogov.web.routes import ROUTERS, WEB_PREFIXES


def mount(app: FastAPI) -> None:
    """Add every page, the static files and the web error pages to ``app``."""
    for router in ROUTERS:
        app.include_router(router, include_in_schema=False)
    for prefix in WEB_PREFIXES:
        register_error_renderer(app, prefix, error_page)

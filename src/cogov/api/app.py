"""The HTTP service: one FastAPI application for Open311, the staff API and the web UI.

``create_app(settings)`` builds it. Every request that touches the database gets one
unit of work (:func:`cogov.api.deps.db_session`): it commits after the route
returns and before the response leaves, and rolls back when anything raises. Domain
errors become HTTP statuses here, at the edge, and nowhere else (:mod:`cogov.api.errors`).

The web UI plugs in through ``cogov.web.app.mount(app)`` when that module provides it: the
web package adds its routers, static files and pages to the same application and uses
the dependencies in :mod:`cogov.api.deps` and :mod:`cogov.api.auth`.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine

from cogov import __version__
from cogov.api import errors, open311
from cogov.api.state import AppState, deployment_for
from cogov.core.clock import Clock, SystemClock
from cogov.core.settings import Settings, load_settings
from cogov.db.engine import make_engine
from cogov.db.migrate import upgrade
from cogov.pipeline import Deployment
from cogov.review import ReviewPolicy
from cogov.review.timer import escalation_timer

DESCRIPTION = """
cogov's HTTP service.

* **Open311 GeoReport v2** under `/open311/v2/`: any Open311 client works unchanged;
  cogov's additions live under the `cogov` key and `/open311/v2/cogov/...` paths.
* **Staff API** under `/api/v1/`: review queue, registry, appeals, ledger and audits.
  Sign in with a bearer API token (`Authorization: Bearer ...`) or a web session cookie
  (state-changing requests then need the `X-CSRF-Token` header).
"""


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    migrate: bool = True,
    deployment: Deployment | None = None,
    load_engines: bool = False,
) -> FastAPI:
    """Build the application.

    ``engine``: use this engine (tests pass a shared one); by default one is made from
    ``settings`` and disposed when the application shuts down. ``migrate``: bring the
    schema to the newest revision first (idempotent; the server does it once at start).
    ``deployment``: the engines in force (e.g. the demo's); with ``load_engines`` and no
    deployment, the engines saved under ``<data dir>/engines/<agent id>/`` are loaded.
    Without either, new requests are stored and wait for people to route them.
    """
    settings = settings or load_settings()
    owns_engine = engine is None
    if engine is None:
        engine = make_engine(
            settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
    if migrate:
        upgrade(engine)
    clock = clock or SystemClock()
    if deployment is None and load_engines:
        deployment = deployment_for(settings, clock)
    state = AppState(settings=settings, engine=engine, clock=clock, deployment=deployment)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Review escalation timer (cogov.review.timer), off unless
        # COGOV_REVIEW_ESCALATION_INTERVAL_SECONDS > 0.
        async with escalation_timer(
            engine,
            interval=settings.review_escalation_interval_seconds,
            policy=ReviewPolicy.from_settings(settings),
            clock=clock,
        ):
            yield
        if owns_engine:
            engine.dispose()

    app = FastAPI(
        title="cogov",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.cogov = state
    if settings.cors_allow_origins:
        # Browser apps of other origins (a city's map, a partner's Open311 client);
        # no credentials, so a session cookie never rides along cross-origin.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allow_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            allow_credentials=False,
        )
    errors.install(app)
    errors.register_error_renderer(app, open311.PREFIX, open311.render_problem)
    for include in _ROUTERS:
        include(app)
    _mount_web(app)
    return app


def _include_api_routers(app: FastAPI) -> None:
    from cogov.api.routes import ROUTERS

    for router in ROUTERS:
        app.include_router(router)


_ROUTERS: list[Callable[[FastAPI], Any]] = [_include_api_routers]


def _mount_web(app: FastAPI) -> None:
    """Let the web UI add its pages: ``cogov.web.app.mount(app: FastAPI) -> None``."""
    web = importlib.import_module("cogov.web.app")
    mount = getattr(web, "mount", None)
    if callable(mount):
        mount(app)


def app_from_environment() -> FastAPI:
    """The application of one `cogov serve` worker: settings from the environment; the
    schema was migrated by the parent process before the workers started.

    Once it is built, everything the worker holds (modules, the application, engines,
    settings) is moved out of the garbage collector's reach (:func:`gc.freeze`): it lives
    as long as the process, and a full collection walked all of it, ~330,000 objects,
    in 0.2 s of CPU with the event loop stopped (0.3-1.1 s on busy shared cores), about
    once every thousand or two requests. Full collections now walk only what serving
    created (8-30 ms)."""
    app = create_app(load_settings(), migrate=False, load_engines=True)
    gc.collect()
    gc.freeze()
    return app

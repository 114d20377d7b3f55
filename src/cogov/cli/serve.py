"""`cogov serve`: the HTTP service (Open311, staff API, web UI) under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from cogov.cli.context import DataDirOption, console, engine_for, fail, handle_errors, settings_for
from cogov.db.engine import is_sqlite

WORKER_STARTUP_SECONDS = 120


@handle_errors
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8311,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Worker processes. Several are safe on PostgreSQL; SQLite serialises "
            "writes, so one is usually best there.",
        ),
    ] = 1,
    log_level: Annotated[
        str, typer.Option("--log-level", help="uvicorn log level (info, warning, ...).")
    ] = "info",
    data_dir: DataDirOption = None,
) -> None:
    """Serve Open311 GeoReport v2, the staff API and the web UI."""
    settings = settings_for(data_dir)
    # Migrate once here, before any worker starts, so workers never race to migrate.
    engine = engine_for(settings)
    sqlite = is_sqlite(engine)
    engine.dispose()
    if sqlite and workers > 1:
        console.print(
            f"[yellow]note:[/] {workers} workers on SQLite share one writer lock; "
            "use PostgreSQL (COGOV_DATABASE_URL) to scale writes out."
        )
    if data_dir is not None:
        # Worker processes read their settings from the environment.
        os.environ["COGOV_DATA_DIR"] = str(data_dir)
    console.print(
        f"cogov serving on http://{host}:{port}/ "
        f"(Open311: /open311/v2/, staff API: /api/v1/, OpenAPI: /docs)"
    )
    try:
        uvicorn.run(
            "cogov.api.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            proxy_headers=settings.trust_forwarded_for,
            # A worker imports cogov and builds the app before it answers the supervisor's
            # health check; on a busy machine that takes longer than uvicorn's 5 s default,
            # and a worker killed for it restarts forever.
            timeout_worker_healthcheck=WORKER_STARTUP_SECONDS,
        )
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror}") from None

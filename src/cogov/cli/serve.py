"""`cogov serve`: the HTTP service (Open311, staff API, web UI) under uvicorn.

The listening socket is bound here, not by uvicorn (:func:`tcp_listener`). uvicorn binds
it with protocol number 0 when it runs several workers; connections accepted from such
a socket inherit protocol 0, and asyncio sets TCP_NODELAY only on sockets whose protocol
is IPPROTO_TCP, so every keep-alive response then waited for the client's delayed ACK
(~40 ms, Nagle's algorithm; https://github.com/Kludex/uvicorn/issues/3149). A socket made
with IPPROTO_TCP keeps it across the hand-over to the worker processes and on every
accepted connection, so each worker's transports get TCP_NODELAY.
"""

from __future__ import annotations

import os
import socket
from enum import StrEnum
from typing import Annotated, Any

import typer
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from cogov.cli.context import (
    EXIT_CHECK_FAILED,
    DataDirOption,
    console,
    engine_for,
    fail,
    handle_errors,
    settings_for,
)
from cogov.db.engine import is_sqlite

WORKER_STARTUP_SECONDS = 120
# Seconds an idle keep-alive connection stays open. Longer than clients' own idle limits
# (httpx 5 s, browsers and load balancers 60 s), so the client always gives up on an idle
# connection first: with equal limits a client could send on a connection the server was
# closing that instant, and get a reset instead of an answer.
KEEP_ALIVE_SECONDS = 75


class LogLevel(StrEnum):
    """uvicorn's log levels (any other name was a KeyError traceback inside uvicorn)."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"
    TRACE = "trace"


def tcp_listener(host: str, port: int) -> socket.socket:
    """A bound TCP socket (IPv6 when ``host`` has a colon) whose protocol is
    IPPROTO_TCP, inheritable by worker processes. Raises OSError when it cannot bind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def run_uvicorn(app: str, *, host: str, port: int, workers: int, **options: Any) -> bool:
    """Serve the ASGI application ``app`` (an import string) on ``host:port`` with
    ``workers`` processes, as ``uvicorn.run`` does, but on :func:`tcp_listener`'s socket.
    ``options`` go to :class:`uvicorn.Config`. The benchmark's peer uses this too.

    Returns False when a single-process server could not start (its log says why)."""
    config = uvicorn.Config(app, host=host, port=port, workers=workers, **options)
    sock = tcp_listener(host, port)
    server = uvicorn.Server(config=config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            server.run(sockets=[sock])
    except KeyboardInterrupt:  # pragma: no cover - the user stopped the server
        pass
    except SystemExit as exc:
        # uvicorn exits with its STARTUP_FAILURE when the application cannot be loaded
        # or its start-up fails; the caller decides what that means.
        if exc.code != STARTUP_FAILURE:
            raise
        return False
    finally:
        sock.close()
    return config.workers > 1 or server.started


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
        LogLevel, typer.Option("--log-level", help="uvicorn log level.", case_sensitive=False)
    ] = LogLevel.INFO,
    keep_alive: Annotated[
        int,
        typer.Option(
            "--timeout-keep-alive",
            min=1,
            max=3600,
            help="Seconds an idle keep-alive connection stays open; keep it longer than "
            "the idle timeout of any proxy or load balancer in front.",
        ),
    ] = KEEP_ALIVE_SECONDS,
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
        started = run_uvicorn(
            "cogov.api.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level.value,
            timeout_keep_alive=keep_alive,
            proxy_headers=settings.trust_forwarded_for,
            # A worker imports cogov and builds the app before it answers the supervisor's
            # health check; on a busy machine that takes longer than uvicorn's 5 s default,
            # and a worker killed for it restarts forever.
            timeout_worker_healthcheck=WORKER_STARTUP_SECONDS,
        )
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    if not started:
        # Exit 1, not uvicorn's 3, which in cogov means "a thing named does not exist".
        raise fail("the server did not start: the log above says why", EXIT_CHECK_FAILED)

"""Engines for SQLite (embedded default) and PostgreSQL (server)."""

from __future__ import annotations

import select
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

#: A server connection is given up and replaced once it is this old (seconds), well
#: before servers and proxies drop idle ones.
POOL_RECYCLE_SECONDS = 1800
#: A pooled server connection idle longer than this (seconds) is pinged before use.
IDLE_PING_SECONDS = 30.0
_IDLE_SINCE = "cogov_idle_since"
#: Execution option of an engine for read-only work (:func:`cogov.db.session.read_only`).
READ_ONLY = "cogov_read_only"
_QUERY_ONLY = "cogov_query_only"


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, echo: bool = False) -> Engine:
    """Create an engine. On SQLite: WAL, foreign keys on, and every transaction
    begins IMMEDIATE so writers are serialised (one writer, never a forked ledger),
    except a read-only one (:data:`READ_ONLY`), which begins DEFERRED and writes
    nothing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": busy_timeout_ms / 1000})
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    engine = create_engine(url, echo=echo, pool_recycle=POOL_RECYCLE_SECONDS)
    _check_on_checkout(engine)
    return engine


def _check_on_checkout(engine: Engine) -> None:
    """Instead of ``pool_pre_ping`` (one round trip on every checkout, i.e. on every
    request): a connection is pinged before use only when it sat idle for more than
    IDLE_PING_SECONDS, or when its socket has something to read while no query is
    running (a server that restarted or ended the session has sent its goodbye or
    closed the socket: a local, non-blocking check). A connection that fails the ping
    raises DisconnectionError, and the pool replaces it and tries again, as it does
    after a failed pre-ping."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None:  # a new connection
            return
        if time.monotonic() - idle_since <= IDLE_PING_SECONDS and not _has_input(dbapi_connection):
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"pooled connection is dead: {error}") from error
        if not alive:
            raise exc.DisconnectionError("pooled connection did not answer a ping")


def _has_input(dbapi_connection: Any) -> bool:
    """Whether an idle connection's socket is readable (True when it cannot tell)."""
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except Exception:  # no socket to ask (closed, or a driver without fileno)
        return True
    return bool(readable)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    # SQLAlchemy's documented recipe: let us emit BEGIN ourselves.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if not connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        # A reader takes no lock: its snapshot starts at its first read and writers
        # commit meanwhile (WAL). query_only makes a write in it fail at once, as READ
        # ONLY does on PostgreSQL, instead of taking the write lock mid-read.
        connection.exec_driver_sql("PRAGMA query_only=ON")
        connection.info[_QUERY_ONLY] = True
        connection.exec_driver_sql("BEGIN")

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        if record.info.pop(_QUERY_ONLY, False):
            dbapi_connection.execute("PRAGMA query_only=OFF")

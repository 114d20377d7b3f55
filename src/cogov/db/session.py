"""The unit of work. Adapters (a CLI command, an HTTP request) open one and it
commits once at the end; services take the session and never commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cogov.db.engine import READ_ONLY


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def read_only_engine(engine: Engine) -> Engine:
    """``engine`` (the same pool) for work that only reads: ledger verify, listings,
    audits. On SQLite its transactions begin DEFERRED with writes refused (query_only),
    so a long read holds no lock and intake keeps committing; on PostgreSQL they are
    READ ONLY (psycopg sends BEGIN READ ONLY: no extra round trip)."""
    options: dict[str, object] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["postgresql_readonly"] = True
    return engine.execution_options(**options)


def read_only_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=read_only_engine(engine), expire_on_commit=False, autoflush=False)


# One sessionmaker for every unit of work, bound per call: making a sessionmaker builds
# a Session subclass (and registers its events), ~0.1 ms unit_of_work spent each call.
_UNIT_OF_WORK_SESSIONS: sessionmaker[Session] = sessionmaker(expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """Yield a session; commit if the block succeeds, roll back if it raises."""
    session = _UNIT_OF_WORK_SESSIONS(bind=engine)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_only(engine: Engine) -> Iterator[Session]:
    """Yield a read-only session (:func:`read_only_engine`); it is rolled back at the
    end, since it has nothing to commit."""
    session = Session(bind=read_only_engine(engine), autoflush=False)
    try:
        yield session
    finally:
        session.close()

"""The unit of work. Adapters (a CLI command, an HTTP request) open one and it
commits once at the end; services take the session and never commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


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

"""Request-scoped dependencies: the application's state and the unit of work.

``DbSession`` is the one way a route reaches the database: a session that commits
when the route function returns (before the response is sent, so a failed commit is
an error response, never a false success) and rolls back if anything raised.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from cogov.api.state import AppState
from cogov.core.clock import Clock
from cogov.core.settings import Settings
from cogov.registry import RefusalRecorded


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.cogov
    return state


def get_settings(request: Request) -> Settings:
    return app_state(request).settings


def get_clock(request: Request) -> Clock:
    return app_state(request).clock


# Refusals the domain records in the ledger: the record is committed, then the
# refusal is reported (e.g. approving a filing that declares a prohibited use).
COMMIT_THEN_RAISE: tuple[type[Exception], ...] = (RefusalRecorded,)


def db_session(request: Request) -> Iterator[Session]:
    """One unit of work per request (shared by every dependency of that request):
    commit when the route returns, roll back when it raises."""
    session = app_state(request).sessions()
    try:
        yield session
        session.commit()
    except COMMIT_THEN_RAISE:
        session.commit()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": the commit runs when the route returns, before the response is sent.
DbSession = Annotated[Session, Depends(db_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]

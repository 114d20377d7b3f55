"""Request-scoped dependencies: the application's state and the unit of work.

``DbSession`` is the one way a route reaches the database: a session that commits
when the route function returns (before the response is sent, so a failed commit is
an error response, never a false success) and rolls back if anything raised.
Requests enter their unit of work through the application's admission gate
(:meth:`cogov.api.state.AppState.admission`): one at a time per process on SQLite,
at most the connection pool's size on PostgreSQL. ``ReadSession`` is for routes that
only read: a read-only session (:func:`cogov.db.session.read_only_engine`) that is
rolled back at the end; on SQLite it takes no write lock and does not wait for the
writer's gate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import anyio
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


def _finish(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def _finish_in_thread(session: Session, *, commit: bool) -> None:
    # Shielded, so a cancelled request still ends its transaction; a limiter of its
    # own, so finishing never waits behind routes for a worker thread.
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(_finish, session, commit, limiter=anyio.CapacityLimiter(1))


@asynccontextmanager
async def request_unit_of_work(request: Request) -> AsyncIterator[Session]:
    """A unit of work entered through the admission gate: commit when the block
    returns, roll back when it raises (commit, then raise, for COMMIT_THEN_RAISE)."""
    state = app_state(request)
    async with state.admission():
        # Making a session touches no connection: the first query does.
        session = state.sessions()
        try:
            yield session
        except COMMIT_THEN_RAISE:
            await _finish_in_thread(session, commit=True)
            raise
        except BaseException:
            await _finish_in_thread(session, commit=False)
            raise
        await _finish_in_thread(session, commit=True)


@asynccontextmanager
async def request_read_only(request: Request) -> AsyncIterator[Session]:
    """A read-only session entered through the readers' gate, rolled back at the end."""
    state = app_state(request)
    async with state.admission(read_only=True):
        session = state.read_sessions()
        try:
            yield session
        finally:
            await _finish_in_thread(session, commit=False)


async def db_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request (shared by every dependency of that request):
    commit when the route returns, roll back when it raises."""
    async with request_unit_of_work(request) as session:
        yield session


async def read_session(request: Request) -> AsyncIterator[Session]:
    """A read-only session per request, rolled back when the route returns."""
    async with request_read_only(request) as session:
        yield session


# scope="function": the commit runs when the route returns, before the response is sent.
DbSession = Annotated[Session, Depends(db_session, scope="function")]
ReadSession = Annotated[Session, Depends(read_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]

"""Routes that only read use read-only sessions. Open311's: on SQLite they answer
while a writer holds the database's one write lock (they used to begin IMMEDIATE and
wait for it). The staff API's and the web's ledger and audit reads: signed in apart,
then read-only, so on SQLite a running verify does not stop intake, and on
PostgreSQL it is READ ONLY."""

from __future__ import annotations

import importlib
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cogov.core.types import Role
from cogov.db.engine import make_engine
from cogov.db.session import read_only
from tests.api.support import build_app, make_staff
from tests.conftest import BACKENDS, fresh_migrated_database

V2 = "/open311/v2"


def test_open311_reads_answer_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    with fresh_migrated_database("sqlite", tmp_path) as (url, _engine):
        # A short busy timeout: a read waiting for the lock fails in 0.3 s, not 30.
        engine = make_engine(url, busy_timeout_ms=300)
        try:
            app = build_app(engine, tmp_path / "data", sqlite_busy_timeout_ms=300)
            with TestClient(app) as client:
                body = {"service_code": "pothole", "description": "Deep hole", "lat": "40.7"}
                [posted] = client.post(f"{V2}/requests.json", data={**body, "long": "-74"}).json()
                request_id = posted["service_request_id"]
                token = posted["cogov"]["citizen_token"]
                writer = sqlite3.connect(str(engine.url.database), isolation_level=None)
                writer.execute("BEGIN IMMEDIATE")  # another process mid-write
                try:
                    reads = [
                        client.get(path)
                        for path in (
                            f"{V2}/requests/{request_id}.json",
                            f"{V2}/requests.json?service_request_id={request_id}",
                            f"{V2}/tokens/{token}.json",
                            f"{V2}/cogov/follow/{token}.json",
                        )
                    ]
                finally:
                    writer.rollback()
                    writer.close()
            assert [read.status_code for read in reads] == [200] * 4, [r.text for r in reads]
            assert reads[0].json()[0]["service_request_id"] == request_id
        finally:
            engine.dispose()


# The staff routes that only read: the user is signed in within a short unit of work
# of its own (a token's last use is written there), committed before the route's
# read-only session begins. Each is watched at its long read: the spy runs inside the
# route's transaction, after the read, and reports what it found there.
STAFF_READS = (
    ("cogov.api.staff.ledger", "verify", "/api/v1/ledger/verify"),
    ("cogov.api.staff.audits", "frame_from_database", "/api/v1/audits/live"),
    ("cogov.web.routes.ledger", "verify", "/staff/ledger/verify"),
    ("cogov.web.routes.ledger", "inclusion_proof", "/staff/ledger/1"),
    ("cogov.web.routes.audits", "frame_from_database", "/staff/audits"),
)


@dataclass
class DuringRead:
    """What happened while a route's read was under way."""

    route: str
    writers_gate_held: bool  # this process's gate in front of writing units of work
    other_intake: int | None  # status of an intake by another server on the database
    write: str  # what a write in the route's own transaction met


def _during(route: str, session: Session, app: FastAPI, other: TestClient | None) -> DuringRead:
    state = app.state.cogov
    held = anyio.from_thread.run_sync(lambda: state.admission().locked())
    intake = None
    if other is not None:
        body = {"service_code": "pothole", "description": "During a read", "lat": "1"}
        intake = other.post(f"{V2}/requests.json", data={**body, "long": "2"}).status_code
    try:
        session.execute(text("DELETE FROM api_tokens WHERE 1 = 0"))  # a write, of nothing
        write = "accepted"
    except DBAPIError as refused:
        write = "refused" if re.search(r"(?i)read.?only", str(refused)) else str(refused)
    return DuringRead(route, writers_gate_held=held, other_intake=intake, write=write)


def _watch_reads(
    monkeypatch: pytest.MonkeyPatch, app: FastAPI, other: TestClient | None
) -> list[DuringRead]:
    seen: list[DuringRead] = []
    for module_name, name, route in STAFF_READS:
        module = importlib.import_module(module_name)

        def watched(
            *args: Any, _real: Any = getattr(module, name), _route: str = route, **kwargs: Any
        ) -> Any:
            result = _real(*args, **kwargs)
            seen.append(_during(_route, args[0], app, other))
            return result

        monkeypatch.setattr(module, name, watched)
    return seen


@pytest.mark.parametrize("backend", BACKENDS)
def test_staff_reads_run_read_only_after_sign_in_commits(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_migrated_database(backend, tmp_path) as (url, _engine):
        # A short busy timeout: on SQLite a writer waiting for the lock fails in 0.3 s.
        engine = make_engine(url, busy_timeout_ms=300)
        other_engine = make_engine(url, busy_timeout_ms=300)
        try:
            data = tmp_path / "data"
            app = build_app(engine, data, sqlite_busy_timeout_ms=300)
            # Another server on the same database, taking intake meanwhile.
            other_app = build_app(other_engine, data, sqlite_busy_timeout_ms=300)
            auditor = make_staff(engine, Role.AUDITOR)
            with TestClient(app) as client, TestClient(other_app) as other:
                body = {"service_code": "pothole", "description": "Deep hole", "lat": "40.7"}
                posted = client.post(f"{V2}/requests.json", data={**body, "long": "-74"})
                assert posted.status_code == 200, posted.text
                seen = _watch_reads(monkeypatch, app, other if backend == "sqlite" else None)
                answers = {
                    route: client.get(route, headers=auditor.headers) for _, _, route in STAFF_READS
                }
            failed = {route: r.text[:300] for route, r in answers.items() if r.status_code != 200}
            assert not failed
            assert answers["/api/v1/ledger/verify"].json()["ok"] is True
            # Each read saw: its transaction refusing writes (SQLite query_only,
            # PostgreSQL READ ONLY), this process's writers' gate free, and on SQLite
            # another server's intake committing meanwhile.
            intake = 200 if backend == "sqlite" else None
            assert seen == [
                DuringRead(route, writers_gate_held=False, other_intake=intake, write="refused")
                for _, _, route in STAFF_READS
            ]
            # Signing in still wrote (a token's last use) and committed, apart.
            with read_only(engine) as session:
                used = session.scalar(
                    text("SELECT last_used_at FROM api_tokens WHERE username = :u"),
                    {"u": auditor.username},
                )
            assert used is not None
        finally:
            engine.dispose()
            other_engine.dispose()

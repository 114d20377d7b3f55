"""Open311's reads use read-only sessions: on SQLite they answer while a writer holds
the database's one write lock (they used to begin IMMEDIATE and wait for it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from cogov.db.engine import make_engine
from tests.api.support import build_app
from tests.conftest import fresh_migrated_database

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

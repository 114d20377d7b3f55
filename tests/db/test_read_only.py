"""Read-only sessions (cogov.db.session.read_only): on SQLite they take no write lock,
so a writer commits while one is open mid-read; on both databases they refuse writes,
and the pooled connection writes again once it is back in the pool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, exc, text
from sqlalchemy.orm import Session

from cogov.db.session import read_only, unit_of_work
from tests.conftest import BACKENDS, fresh_migrated_database


@pytest.fixture(params=BACKENDS)
def bare_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of its own with a table ``t`` of one row."""
    with fresh_migrated_database(request.param, tmp_path) as (_url, engine):
        with unit_of_work(engine) as session:
            session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            session.execute(text("INSERT INTO t (id) VALUES (1)"))
        yield engine


def _count(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM t")).scalar_one())


def test_a_writer_commits_while_a_reader_is_mid_read(bare_engine: Engine) -> None:
    with read_only(bare_engine) as reader:
        assert _count(reader) == 1  # the reader's transaction is open, its snapshot taken
        with unit_of_work(bare_engine) as writer:
            writer.execute(text("INSERT INTO t (id) VALUES (2)"))
    with read_only(bare_engine) as reader:
        assert _count(reader) == 2


def test_a_write_in_a_read_only_session_is_refused(bare_engine: Engine) -> None:
    with read_only(bare_engine) as reader:
        used = reader.connection().connection.dbapi_connection
        assert _count(reader) == 1
        with pytest.raises(exc.DBAPIError, match=r"(?i)read.?only"):
            reader.execute(text("INSERT INTO t (id) VALUES (3)"))
    # The same pooled connection writes again in a unit of work.
    with unit_of_work(bare_engine) as writer:
        assert writer.connection().connection.dbapi_connection is used
        writer.execute(text("INSERT INTO t (id) VALUES (3)"))
    with read_only(bare_engine) as reader:
        assert _count(reader) == 2

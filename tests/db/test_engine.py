"""Pooled PostgreSQL connections: checked without a round trip on each checkout, and
replaced when the server has ended them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from cogov.db import engine as engine_module
from cogov.db.engine import make_engine


@pytest.fixture
def pg_engine(postgres_engine: Engine) -> Iterator[Engine]:
    """An engine of its own (its own pool) on the test database."""
    engine = make_engine(postgres_engine.url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _count_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


class TestConnectionTheServerEnded:
    def test_is_replaced_on_checkout(self, pg_engine: Engine, postgres_engine: Engine) -> None:
        pid = _backend_pid(pg_engine)
        with postgres_engine.connect() as admin:
            assert admin.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
            admin.commit()
        # The pooled connection is dead (its backend has exited): the next checkout
        # notices without a query failing, and connects anew.
        assert _backend_pid(pg_engine) != pid


class TestBusyConnection:
    def test_reused_at_once_is_not_pinged(
        self, pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        pings = _count_pings(pg_engine, monkeypatch)
        first = _backend_pid(pg_engine)
        assert _backend_pid(pg_engine) == first
        assert pings == []

    def test_idle_too_long_is_pinged(
        self, pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        pings = _count_pings(pg_engine, monkeypatch)
        first = _backend_pid(pg_engine)
        monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", -1.0)
        assert _backend_pid(pg_engine) == first
        assert pings == [1]

"""The unit of work under load: requests enter it through the admission gate, so a
burst larger than the worker threads never jams (on SQLite every transaction takes the
one write lock, and a route's response is validated in a worker thread before its
commit: with every thread waiting for that lock, the holder could never finish)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import Engine

from cogov.api.state import DEFAULT_THREADS, admission_limit
from cogov.db.engine import make_engine
from tests.api.support import build_app

BURST = DEFAULT_THREADS + 30


class TestAdmission:
    def test_limit_is_one_on_sqlite_and_the_pool_elsewhere(self, engine: Engine) -> None:
        limit = admission_limit(engine)
        if engine.dialect.name == "sqlite":
            assert limit == 1
        else:
            assert 1 <= limit <= DEFAULT_THREADS - 8
            assert limit <= engine.pool.size() + 10  # type: ignore[attr-defined]

    def test_a_burst_larger_than_the_thread_pool_is_answered(
        self, engine: Engine, data_dir: Path
    ) -> None:
        # A short busy timeout: a jam would show as "database is locked" (HTTP 500)
        # within seconds instead of after the default 30 s.
        short = make_engine(engine.url.render_as_string(hide_password=False), busy_timeout_ms=2_000)
        try:
            app = build_app(short, data_dir, sqlite_busy_timeout_ms=2_000)

            async def burst() -> list[int]:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    answers = await asyncio.gather(*(client.get("/healthz") for _ in range(BURST)))
                return [answer.status_code for answer in answers]

            assert asyncio.run(burst()) == [200] * BURST
        finally:
            short.dispose()

"""What the application holds for its whole life, reached from a request."""

from __future__ import annotations

import asyncio
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from cogov.control import ControlConfig, load_control_config
from cogov.core.clock import Clock
from cogov.core.settings import Settings
from cogov.db.session import read_only_session_factory, session_factory
from cogov.intake import IntakeConfig, load_intake_config
from cogov.pipeline import Deployment
from cogov.triage.classifier import load_engine
from cogov.triage.protocol import TriageEngine

# `cogov serve` runs the engine saved in <data dir>/engines/<agent id>/ for each agent.
ENGINES_DIR = "engines"


@dataclass
class AppState:
    """``deployment``: the engines in force; with one, a new request walks the whole
    governed path (triage, control, review queue) before the answer; without one it is
    stored by intake and waits for people to route it."""

    settings: Settings
    engine: Engine
    clock: Clock
    deployment: Deployment | None = None
    _intake: IntakeConfig | None = None
    _control: ControlConfig | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Made once: a sessionmaker builds a Session subclass (and registers its events)
    # each time it is made, which cost every request ~0.1 ms when made per request.
    sessions: sessionmaker[Session] = field(init=False)
    # Sessions of routes that only read (cogov.db.session.read_only_engine).
    read_sessions: sessionmaker[Session] = field(init=False)
    # How many requests may hold a unit of work at once (see admission()).
    admission_limit: int = field(init=False)
    # How many read-only ones, when they have a gate of their own (0: they share it).
    read_admission_limit: int = field(init=False)
    _admission: weakref.WeakKeyDictionary[
        asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, asyncio.Semaphore]
    ] = field(init=False, default_factory=weakref.WeakKeyDictionary)

    def __post_init__(self) -> None:
        self.sessions = session_factory(self.engine)
        self.read_sessions = read_only_session_factory(self.engine)
        self.admission_limit = admission_limit(self.engine)
        self.read_admission_limit = read_admission_limit(self.engine)

    def admission(self, *, read_only: bool = False) -> asyncio.Semaphore:
        """The running event loop's gate in front of the unit of work. Requests past
        the limit wait here, on the event loop, holding no thread and no connection;
        so a request that holds the database's lock always finds a worker thread to
        finish in (its response is validated in one before the commit), instead of
        every thread waiting for that lock or for a pooled connection until a 30 s
        timeout breaks the jam. ``read_only``: the gate of read-only sessions, on
        SQLite one of their own (they take no lock, so they need not queue behind
        the writer), elsewhere the same one (they share the pool)."""
        loop = asyncio.get_running_loop()
        gates = self._admission.get(loop)
        if gates is None:
            writes = asyncio.Semaphore(self.admission_limit)
            reads = (
                asyncio.Semaphore(self.read_admission_limit)
                if self.read_admission_limit
                else writes
            )
            gates = self._admission[loop] = (writes, reads)
        return gates[1] if read_only else gates[0]

    @property
    def intake(self) -> IntakeConfig:
        """The agency's catalogue, group attributes and token key (loaded once)."""
        if self.deployment is not None:
            return self.deployment.intake
        if self._intake is None:
            with self._lock:
                if self._intake is None:
                    self._intake = load_intake_config(self.settings)
        return self._intake

    @property
    def control(self) -> ControlConfig:
        """Processes, negative list and routing policy in force (loaded once)."""
        if self.deployment is not None:
            return self.deployment.control
        if self._control is None:
            with self._lock:
                if self._control is None:
                    self._control = load_control_config(self.settings)
        return self._control


# Worker threads FastAPI runs sync routes in (anyio's default limiter has 40); the
# admission limit stays well under it, whatever the pool allows.
THREADS_KEPT_FREE = 8
DEFAULT_THREADS = 40


def admission_limit(engine: Engine) -> int:
    """SQLite: 1, since every cogov transaction but a read-only one begins IMMEDIATE
    (takes the one write lock), so a second would only sleep in SQLite's busy handler.
    Otherwise: the connection pool's size plus overflow, below the worker threads."""
    if engine.dialect.name == "sqlite":
        return 1
    return _connections(engine)


def read_admission_limit(engine: Engine) -> int:
    """SQLite: how many read-only requests may read at once beside the one writer (the
    pool's connections less the writer's). Elsewhere 0: reads and writes share one gate."""
    if engine.dialect.name != "sqlite":
        return 0
    return max(1, _connections(engine) - 1)


def _connections(engine: Engine) -> int:
    """The connection pool's size plus overflow, below the worker threads."""
    pool = engine.pool
    capacity = DEFAULT_THREADS - THREADS_KEPT_FREE
    if isinstance(pool, QueuePool):
        overflow = max(0, int(getattr(pool, "_max_overflow", 0)))
        capacity = min(capacity, pool.size() + overflow)
    return max(1, capacity)


def saved_engines(settings: Settings) -> dict[str, TriageEngine]:
    """Every engine saved under ``<data dir>/engines/<agent id>/`` (each checked
    against its manifest's hashes when loaded)."""
    folder = Path(settings.data_dir) / ENGINES_DIR
    if not folder.is_dir():
        return {}
    return {
        path.name: load_engine(path)
        for path in sorted(folder.iterdir())
        if path.is_dir() and (path / "manifest.json").exists()
    }


def deployment_for(settings: Settings, clock: Clock) -> Deployment | None:
    """The deployment ``cogov serve`` runs: the saved engines, if there are any."""
    engines = saved_engines(settings)
    if not engines:
        return None
    return Deployment.from_settings(settings, engines=engines, clock=clock)

"""What the application holds for its whole life, reached from a request."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cogov.control import ControlConfig, load_control_config
from cogov.core.clock import Clock
from cogov.core.settings import Settings
from cogov.db.session import session_factory
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

    def __post_init__(self) -> None:
        self.sessions = session_factory(self.engine)

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

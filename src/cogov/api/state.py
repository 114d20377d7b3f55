"""What the application holds for its whole life, reached from a request."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine

from cogov.core.clock import Clock
from cogov.core.settings import Settings
from cogov.intake import IntakeConfig, load_intake_config


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    clock: Clock
    _intake: IntakeConfig | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def intake(self) -> IntakeConfig:
        """The agency's catalogue, group attributes and token key (loaded once)."""
        if self._intake is None:
            with self._lock:
                if self._intake is None:
                    self._intake = load_intake_config(self.settings)
        return self._intake

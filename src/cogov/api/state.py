"""What the application holds for its whole life, reached from a request."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from cogov.core.clock import Clock
from cogov.core.settings import Settings


@dataclass(frozen=True)
class AppState:
    settings: Settings
    engine: Engine
    clock: Clock

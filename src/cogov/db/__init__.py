"""Storage: the declarative base, engines, the unit of work, and migrations."""

from cogov.db.base import Base
from cogov.db.engine import make_engine
from cogov.db.session import unit_of_work

__all__ = ["Base", "make_engine", "unit_of_work"]

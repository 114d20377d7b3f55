"""The accountability ledger: a hash-chained, append-only log of every step.

Other packages use :func:`append` inside their own unit of work, so the entry and
the state change it records commit (or roll back) together.
"""

from cogov.ledger.errors import LedgerError
from cogov.ledger.models import LedgerEntry
from cogov.ledger.schemas import Responsible
from cogov.ledger.service import append

__all__ = ["LedgerEntry", "LedgerError", "Responsible", "append"]

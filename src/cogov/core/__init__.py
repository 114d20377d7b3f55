"""Shared kernel: ids, clock, errors, canonical encoding, settings and shared types.

Nothing here imports another cogov package.
"""

from cogov.core.canonical import canonical_json, sha256_hex
from cogov.core.clock import Clock, FixedClock, SystemClock, utc_now
from cogov.core.errors import CogovError, ValidationFailed
from cogov.core.ids import new_id
from cogov.core.types import Channel, Grade, Role

__all__ = [
    "Channel",
    "Clock",
    "CogovError",
    "FixedClock",
    "Grade",
    "Role",
    "SystemClock",
    "ValidationFailed",
    "canonical_json",
    "new_id",
    "sha256_hex",
    "utc_now",
]

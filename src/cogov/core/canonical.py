"""Canonical JSON: one byte string per value, so hashes are reproducible anywhere.

Keys sorted, no insignificant white space, UTF-8 (not ASCII-escaped), and no
floats that JSON cannot carry (NaN, infinity). Close to RFC 8785 for the values
cogov stores (strings, integers, booleans, null, finite floats, lists, maps).
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any


def _check_finite(value: Any, path: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path}: {value!r} has no canonical JSON form")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: map key {key!r} is not a string")
            _check_finite(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_finite(item, f"{path}[{index}]")


_PLAIN = (str, int, bool, type(None))


def _has_form(value: Any) -> bool:
    """Whether ``value`` has a canonical form: the quick check (no paths built),
    :func:`_check_finite` names the problem when there is one."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, _PLAIN):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif isinstance(item, dict):
            for key in item:
                if not isinstance(key, str):
                    return False
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return True


# One encoder for every call: json.dumps with options builds a new JSONEncoder each
# time, which costs as much as encoding a small ledger payload.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> str:
    """Return the canonical JSON text of ``value``; raise ValueError if it has none."""
    if not _has_form(value):
        _check_finite(value, "$")
    return _ENCODER.encode(value)


def canonical_text(value: Any) -> str:
    """:func:`canonical_json`'s text for a value whose map keys are known to be strings
    (built by the caller, or checked by it), without the walk that checks them: NaN and
    infinity still raise ValueError, while encoding. (A non-string key would be turned
    into a string here, not refused: only for values whose keys the caller vouches for.)"""
    return _ENCODER.encode(value)


def sha256_hex(data: bytes | str) -> str:
    """SHA-256 of bytes (or of a string's UTF-8), as 64 lower-case hex digits."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()

"""Pure rules of the chain: the canonical encoding of an entry and its hash."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

GENESIS_HASH = "0" * 64

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
ACTOR_PATTERN = re.compile(r"^(agent|user|citizen|system):[^\s]{1,120}$")

# Keys that may carry contact details or other personal data. Checked at any depth.
PERSONAL_KEYS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "full_name",
        "email",
        "phone",
        "telephone",
        "mobile",
        "contact",
        "contact_details",
        "address",
        "street_address",
        "device_id",
        "account_id",
        "password",
        "id_number",
        "national_id",
        "ssn",
    }
)


def find_personal_key(value: Any, path: str = "") -> str | None:
    """Return the dotted path of the first personal-data key in ``value``, or None."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if str(key).lower() in PERSONAL_KEYS:
                return where
            found = find_personal_key(item, where)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = find_personal_key(item, f"{path}[{index}]")
            if found:
                return found
    return None


def entry_bytes(
    *,
    seq: int,
    recorded_at: str,
    kind: str,
    case_id: str | None,
    actor: str,
    responsible: str,
    payload: str,
    prev_hash: str,
) -> bytes:
    """The canonical encoding that is hashed: a JSON array whose 6th and 7th items
    are the stored canonical JSON texts of ``responsible`` and ``payload``, spliced
    in verbatim. Every other item is JSON-escaped, so the encoding is unambiguous."""
    dump = json.dumps
    return (
        f"[{seq},{dump(recorded_at)},{dump(kind)},{dump(case_id)},"
        f"{dump(actor, ensure_ascii=False)},"
        f"{responsible},{payload},{dump(prev_hash)}]"
    ).encode()


def entry_hash(**fields: Any) -> str:
    return hashlib.sha256(entry_bytes(**fields)).hexdigest()

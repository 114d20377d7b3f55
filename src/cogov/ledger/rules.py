"""Pure rules of the chain: what an entry may hold, its canonical bytes and its hash.

This module is the ONE implementation of the hashing rule: :func:`append`,
:func:`append_many`, :func:`verify` and the proof bundles all call it.

The entry hash is the RFC 6962 / RFC 9162 *leaf hash* of the entry's canonical
bytes, ``SHA-256(0x00 || entry_bytes)``, so the hash chain and the Merkle tree
share their leaves: a checkpoint's root commits to exactly the chain's hashes.

``entry_bytes`` is a UTF-8 JSON array, format version 1::

    [1,seq,"recorded_at","kind","case_id"|null,"actor","prev_hash",
     len(responsible),responsible,len(payload),payload]

The five short text columns are JSON strings. The append rules below guarantee
they hold no quote, backslash or control character, so for every entry cogov
writes they are the column text between quotes (a tampered row with a quote or
backslash in one gets the full JSON escaping, so no quote can pass for the end of
a column). ``responsible`` and ``payload`` are the
stored canonical JSON texts spliced in verbatim, each preceded by its length in
Unicode code points. The lengths make the encoding injective even for tampered
rows (no bytes can move from one column to the next without changing a length),
and splicing avoids re-escaping: the encoding costs a single string format, which
is what lets :func:`verify` check a million entries in a few seconds.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from json.encoder import encode_basestring as _json_string
from typing import Any, Final

GENESIS_HASH: Final = "0" * 64
ENTRY_FORMAT_VERSION: Final = 1
LEAF_PREFIX: Final = b"\x00"

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
KIND_MAX = 64
# No white space, quote, backslash or control character: the text is a JSON string as is.
ACTOR_PATTERN = re.compile(r'^(agent|user|citizen|system):[^\x00-\x20"\\\x7f]{1,120}$')
CASE_ID_PATTERN = re.compile(r'^[^\x00-\x20"\\\x7f]{1,64}$')
RECORDED_AT_PATTERN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")

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


# dict and list first: isinstance tries them in order, and ABC checks are slow.
_MAPS = (dict, Mapping)
_CONTAINERS = (dict, list, tuple, Mapping)


def find_personal_key(value: Any, path: str = "") -> str | None:
    """Return the dotted path of the first personal-data key in ``value``, or None.

    Raises ValueError naming the path of a map key that is not a string (JSON has none).
    """
    if isinstance(value, _MAPS):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path or '$'}: map key {key!r} is not a string")
            where = f"{path}.{key}" if path else key
            if key.lower() in PERSONAL_KEYS:
                return where
            if isinstance(item, _CONTAINERS):
                found = find_personal_key(item, where)
                if found:
                    return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if isinstance(item, _CONTAINERS):
                found = find_personal_key(item, f"{path}[{index}]")
                if found:
                    return found
    return None


def payload_text(body: Mapping[str, Any]) -> str:
    """The canonical JSON text of a payload whose keys :func:`find_personal_key` has
    checked: the same text as cogov.core.canonical_json (sorted keys, no spaces,
    UTF-8), produced in one pass; raises ValueError for NaN or infinity."""
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def header_problem(kind: str, actor: str, case_id: str | None) -> tuple[str, str] | None:
    """``(field, reason)`` when an entry's short columns break the rules, else None."""
    if len(kind) > KIND_MAX or not KIND_PATTERN.match(kind):
        return "kind", f"{kind!r} is not dotted lower-case words like 'case.received'"
    if not ACTOR_PATTERN.match(actor):
        return "actor", (
            f"{actor!r} is not 'agent:…', 'user:…', 'citizen:…' or 'system:…' "
            "(1-120 characters, no space, quote or backslash)"
        )
    if case_id is not None and not CASE_ID_PATTERN.match(case_id):
        return "case_id", f"{case_id!r} must be 1-64 characters without space, quote or backslash"
    return None


def leaf_input(
    seq: int,
    recorded_at: str,
    kind: str,
    case_id: str | None,
    actor: str,
    responsible: str,
    payload: str,
    prev_hash: str,
) -> bytes:
    """``0x00 || entry_bytes``: what SHA-256 hashes into the entry (leaf) hash.

    Positional parameters on purpose: :func:`verify` calls this once per stored row.
    """
    if case_id is None:
        short = f'{seq},"{recorded_at}","{kind}",null,"{actor}","{prev_hash}"'
        quotes = 8
    else:
        short = f'{seq},"{recorded_at}","{kind}","{case_id}","{actor}","{prev_hash}"'
        quotes = 10
    if short.count('"') != quotes or "\\" in short:
        # Only a tampered (or hand-made) row gets here: JSON-escape its short columns
        # so no quote inside a column can pass for the end of one.
        case = "null" if case_id is None else _json_string(case_id)
        short = ",".join(
            (str(seq), _json_string(recorded_at), _json_string(kind), case,
             _json_string(actor), _json_string(prev_hash))
        )  # fmt: skip
    return f"\x00[1,{short},{len(responsible)},{responsible},{len(payload)},{payload}]".encode()


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
    """The entry's canonical bytes (the Merkle leaf data): a JSON array, see the module doc."""
    return leaf_input(seq, recorded_at, kind, case_id, actor, responsible, payload, prev_hash)[1:]


def entry_hash(
    *,
    seq: int,
    recorded_at: str,
    kind: str,
    case_id: str | None,
    actor: str,
    responsible: str,
    payload: str,
    prev_hash: str,
) -> str:
    """The entry hash (hex): the RFC 6962 leaf hash of :func:`entry_bytes`."""
    data = leaf_input(seq, recorded_at, kind, case_id, actor, responsible, payload, prev_hash)
    return hashlib.sha256(data).hexdigest()

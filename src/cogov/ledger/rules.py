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
import re
from collections.abc import Mapping
from json.encoder import encode_basestring as _json_string
from typing import Any, Final

from cogov.core.canonical import canonical_text

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
# Values of these exact types hold no keys: the scan never looks inside them.
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
# Keys (exact str) already found not to be personal, so a payload's keys are checked
# in one C-level set operation. Bounded: past the bound, new keys are checked each time.
_CLEAN_KEYS: set[str] = set()
_CLEAN_KEYS_MAX: Final = 4_096
_CLEAN_KEY_LENGTH_MAX: Final = 64
# Containers the quick scan looks into before leaving it to the walk (which is also
# what meets a payload that contains itself: RecursionError, as before).
_SCAN_NODES_MAX: Final = 10_000


def find_personal_key(value: Any, path: str = "") -> str | None:
    """Return the dotted path of the first personal-data key in ``value``, or None.

    Raises ValueError naming the path of a map key that is not a string (JSON has none).

    Most payloads hold none: a loop over an explicit stack first checks each plain
    dict's keys against the keys known to be clean (one set operation per dict) and
    skips values that cannot hold keys. Only when that finds something (a personal or
    non-string key, or a container other than a plain dict, list or tuple) does the
    walk in document order name the first one, so the answer is the same.
    """
    if _holds_no_personal_key(value):
        return None
    return _first_personal_key(value, path)


def _holds_no_personal_key(value: Any) -> bool:
    """True when no key at any depth of ``value`` is personal or not a string, and
    every container in it is a plain dict, list or tuple; False when unsure."""
    stack = [value]
    pop, push = stack.pop, stack.append
    scalars, clean = _SCALARS, _CLEAN_KEYS
    budget = _SCAN_NODES_MAX
    while stack:
        budget -= 1
        if not budget:
            return False
        node = pop()
        kind = type(node)
        if kind is dict:
            if not clean.issuperset(node) and not _learn_keys(node):
                return False
            for item in node.values():
                if type(item) not in scalars:
                    push(item)
        elif kind is list or kind is tuple:
            for item in node:
                if type(item) not in scalars:
                    push(item)
        elif isinstance(node, _CONTAINERS):
            return False  # a subclass or another Mapping: the walk below decides
    return True


def _learn_keys(node: dict[Any, Any]) -> bool:
    """True when every key of ``node`` is a str that is not personal (remembered)."""
    for key in node:
        if type(key) is not str or key.lower() in PERSONAL_KEYS:
            return False
        if len(_CLEAN_KEYS) < _CLEAN_KEYS_MAX and len(key) <= _CLEAN_KEY_LENGTH_MAX:
            _CLEAN_KEYS.add(key)
    return True


def _first_personal_key(value: Any, path: str) -> str | None:
    """The walk in document order behind :func:`find_personal_key`."""
    if isinstance(value, _MAPS):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path or '$'}: map key {key!r} is not a string")
            where = f"{path}.{key}" if path else key
            if key.lower() in PERSONAL_KEYS:
                return where
            if isinstance(item, _CONTAINERS):
                found = _first_personal_key(item, where)
                if found:
                    return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if isinstance(item, _CONTAINERS):
                found = _first_personal_key(item, f"{path}[{index}]")
                if found:
                    return found
    return None


def payload_text(body: Mapping[str, Any]) -> str:
    """The canonical JSON text of a payload whose keys :func:`find_personal_key` has
    checked: the same text as cogov.core.canonical_json (sorted keys, no spaces,
    UTF-8), produced in one pass; raises ValueError for NaN or infinity."""
    return canonical_text(body)


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

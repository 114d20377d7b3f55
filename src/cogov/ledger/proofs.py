"""Pure verifiers a third party runs with nothing but a checkpoint and the public key.

Plain values in and out (bytes, ints, lists), no database, no cogov state:
the algorithms of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency), and
:func:`verify_bundle` for the JSON that ``cogov ledger prove`` and ``cogov ledger
consistency`` print. Each verifier returns ``True`` or ``False`` and never raises on a
malformed proof, so a caller cannot mistake an exception path for success.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from cogov.ledger.merkle import EMPTY_ROOT, leaf_hash, node_hash
from cogov.ledger.note import (
    Checkpoint,
    CheckpointError,
    parse_public_key_pem,
    verify_checkpoint,
)

HASH_SIZE = 32


def _hashes_ok(*values: bytes) -> bool:
    return all(isinstance(v, bytes) and len(v) == HASH_SIZE for v in values)


def root_from_inclusion_proof(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes | None:
    """The root that ``proof`` implies for ``leaf`` (a leaf hash) at ``index`` in a
    tree of ``size``, or None if the proof cannot be well-formed for that position."""
    if not (0 <= index < size) or not _hashes_ok(leaf, *proof):
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: is ``leaf`` (a leaf hash) at ``index`` of the tree with
    ``root`` and ``size``?"""
    return root_from_inclusion_proof(leaf, index, size, proof) == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (``old_size``, ``old_root``) a prefix of the
    tree (``new_size``, ``new_root``)?"""
    if not _hashes_ok(old_root, new_root, *proof) or not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old root is a node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class BundleInvalid(ValueError):
    """A proof bundle does not prove what it claims; the message says why."""


def _b64(value: Any, field: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except ValueError as exc:
        raise BundleInvalid(f"{field}: not base64") from exc


def _checkpoint_of(bundle: Mapping[str, Any], key: str, public_key_pem: str) -> Checkpoint:
    note = bundle.get(key)
    if not isinstance(note, str):
        raise BundleInvalid(f"{key}: missing signed checkpoint")
    try:
        return verify_checkpoint(note, parse_public_key_pem(public_key_pem))
    except CheckpointError as exc:
        raise BundleInvalid(f"{key}: {exc}") from exc


def _same(bundle: Mapping[str, Any], key: str, proven: Any) -> None:
    if key in bundle and bundle[key] != proven:
        raise BundleInvalid(
            f"{key} says {bundle[key]!r} but the proof is for {proven!r} "
            "(from entry_bytes and the signed checkpoint)"
        )


def verify_bundle(bundle: Mapping[str, Any], public_key_pem: str) -> str:
    """Check a proof bundle printed by ``cogov ledger prove`` or ``consistency``
    against the public key only. Returns a one-line summary; raises BundleInvalid.

    An inclusion bundle proves that ``entry_bytes`` (whose JSON holds the entry's
    columns) is leaf ``index`` of the tree its signed ``checkpoint`` commits to; its
    readable fields (``seq``, ``leaf_index``, ``tree_size``, ``entry``), where present,
    must agree with that.
    A consistency bundle proves that ``old_checkpoint``'s tree is a prefix of
    ``checkpoint``'s.
    """
    kind = bundle.get("type")
    if kind == "inclusion":
        checkpoint = _checkpoint_of(bundle, "checkpoint", public_key_pem)
        data = str(bundle.get("entry_bytes", "")).encode()
        leaf = leaf_hash(data)
        if leaf.hex() != bundle.get("entry_hash"):
            raise BundleInvalid("entry_hash is not the leaf hash of entry_bytes")
        try:
            entry = json.loads(data)
            seq = int(entry[1])
        except (ValueError, IndexError, TypeError) as exc:
            raise BundleInvalid("entry_bytes is not a ledger entry") from exc
        path = [_b64(p, "inclusion_path") for p in bundle.get("inclusion_path", [])]
        if not verify_inclusion(leaf, seq - 1, checkpoint.size, path, checkpoint.root):
            raise BundleInvalid(
                f"entry {seq} is not included in the checkpoint of size {checkpoint.size}"
            )
        # The bundle's readable fields must say what is proven, or a reader who trusts
        # them (not entry_bytes) could be shown another entry, index or size.
        _same(bundle, "seq", seq)
        _same(bundle, "leaf_index", seq - 1)
        _same(bundle, "tree_size", checkpoint.size)
        _same(bundle, "entry", entry)
        return f"entry {seq} is in {checkpoint.origin} at tree size {checkpoint.size}"
    if kind == "consistency":
        new = _checkpoint_of(bundle, "checkpoint", public_key_pem)
        old = _checkpoint_of(bundle, "old_checkpoint", public_key_pem)
        if old.origin != new.origin:
            raise BundleInvalid("the two checkpoints are from different logs (origins differ)")
        path = [_b64(p, "consistency_path") for p in bundle.get("consistency_path", [])]
        if not verify_consistency(old.size, new.size, old.root, new.root, path):
            raise BundleInvalid(f"tree size {old.size} is not a prefix of tree size {new.size}")
        return f"{new.origin}: tree size {old.size} is a prefix of tree size {new.size}"
    raise BundleInvalid(f"type: {kind!r} is neither 'inclusion' nor 'consistency'")

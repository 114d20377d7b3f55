"""Merkle tree math of RFC 9162 §2.1 (the same tree as RFC 6962), with plain values.

Leaves are the entries' leaf hashes (``SHA-256(0x00 || entry_bytes)``, see rules.py);
an interior node is ``SHA-256(0x01 || left || right)``; the root of ``n`` leaves
splits at the largest power of two below ``n``.

A *perfect subtree* is named ``(level, index)``: the ``2**level`` leaves from
``index * 2**level``. Every range the RFC's proofs need is a run of such subtrees,
so a store of perfect-subtree hashes (``ledger_tree_nodes``) answers any proof with
``O(log n)`` lookups; :func:`proof_nodes` lists them and :func:`range_root` folds them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

NODE_PREFIX: Final = b"\x01"
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # [start, end) of leaf indexes

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash of leaf data."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash."""
    return _sha256(NODE_PREFIX + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two strictly below ``size`` (``size`` >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_recursive(leaves: Sequence[bytes]) -> bytes:
    """MTH by its recursive definition; the reference the fast paths are tested against."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return node_hash(root_recursive(leaves[:k]), root_recursive(leaves[k:]))


class Frontier:
    """The right edge of a growing tree: the roots of its perfect subtrees, largest
    first (one per set bit of ``size``). Appending is amortised one node hash per
    leaf and the root of the current size is ``O(log n)`` away, so one pass over the
    leaves yields the root at every size on the way."""

    __slots__ = ("_hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count():
            raise ValueError(f"a frontier of size {size} has {size.bit_count()} hashes")
        self.size = size
        self._hashes = list(hashes)

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def push(self, leaf: bytes) -> None:
        hashes, size, sha = self._hashes, self.size, _sha256
        while size & 1:
            leaf = sha(b"\x01" + hashes.pop() + leaf).digest()
            size >>= 1
        hashes.append(leaf)
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Push many leaves (the loop of :meth:`push`, inlined: verify's hot path)."""
        hashes, size, sha = self._hashes, self.size, _sha256
        pop, append = hashes.pop, hashes.append
        for leaf in leaves:
            carry = size
            while carry & 1:
                leaf = sha(b"\x01" + pop() + leaf).digest()
                carry >>= 1
            append(leaf)
            size += 1
        self.size = size

    def push_collect(self, leaf: bytes, completed: list[tuple[int, int, bytes]]) -> None:
        """Push ``leaf`` and add every perfect subtree it completes (level >= 1) to
        ``completed`` as ``(level, index, hash)``."""
        hashes, size = self._hashes, self.size
        level, index = 0, size
        while size & 1:
            leaf = node_hash(hashes.pop(), leaf)
            size >>= 1
            level += 1
            index >>= 1
            completed.append((level, index, leaf))
        hashes.append(leaf)
        self.size += 1

    def root(self) -> bytes:
        if not self._hashes:
            return EMPTY_ROOT
        hashes = self._hashes
        root = hashes[-1]
        for left in reversed(hashes[:-1]):
            root = node_hash(left, root)
        return root


def root_iterative(leaves: Iterable[bytes]) -> bytes:
    frontier = Frontier()
    for leaf in leaves:
        frontier.push(leaf)
    return frontier.root()


def frontier_nodes(size: int) -> list[NodeId]:
    """The perfect subtrees whose hashes make up the frontier of ``size``, largest first."""
    return perfect_subtrees(0, size)


def perfect_subtrees(start: int, end: int) -> list[NodeId]:
    """Split ``[start, end)`` into perfect subtrees, largest first. ``start`` must be
    a multiple of the largest power of two <= ``end - start`` (true of every range
    the RFC's proofs use)."""
    nodes: list[NodeId] = []
    position, remaining = start, end - start
    while remaining:
        level = remaining.bit_length() - 1
        if position % (1 << level):
            raise ValueError(f"range [{start}, {end}) is not aligned for a Merkle subtree")
        nodes.append((level, position >> level))
        position += 1 << level
        remaining -= 1 << level
    return nodes


def range_root(start: int, end: int, nodes: Mapping[NodeId, bytes]) -> bytes:
    """MTH of the leaves ``[start, end)`` from the hashes of its perfect subtrees."""
    parts = [nodes[node] for node in perfect_subtrees(start, end)]
    root = parts[-1]
    for left in reversed(parts[:-1]):
        root = node_hash(left, root)
    return root


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size]) as leaf ranges, bottom-up."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    ranges: list[Range] = []
    start, end = 0, size
    # Walk down from the root, then reverse: the path lists siblings leaf-first.
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """RFC 9162 §2.1.4.1 PROOF(old_size, D[0:new_size]) as leaf ranges, in order."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    ranges: list[Range] = []
    start, end, m, whole = 0, new_size, old_size, True
    # SUBPROOF(m, D[start:end], whole), walked down iteratively and reversed at the end.
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def proof_nodes(ranges: Iterable[Range]) -> set[NodeId]:
    """Every perfect subtree needed to compute the roots of ``ranges``."""
    return {node for start, end in ranges for node in perfect_subtrees(start, end)}

"""``verify``: re-derive everything the ledger claims from its stored rows.

One streaming pass over the entries checks seq contiguity, every prev_hash link and
every entry hash (recomputed with rules.leaf_input, the one hashing rule), and feeds
the recomputed leaf hashes into a Merkle frontier, so the root at every checkpoint's
size is compared with the signed root on the way. Then each checkpoint's signature,
order, origin and consistency with the one before it (an RFC 9162 consistency proof
built from the node store, checked with the pure verifier) are checked.

The first problem in the entries is named by its sequence number; a problem in a
checkpoint by the checkpoint's number.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from cogov.ledger import merkle, repository
from cogov.ledger.errors import LedgerError
from cogov.ledger.models import LedgerCheckpoint, LedgerEntry
from cogov.ledger.note import CheckpointError, verify_checkpoint
from cogov.ledger.proofs import verify_consistency
from cogov.ledger.rules import GENESIS_HASH, leaf_input
from cogov.ledger.schemas import Problem, VerifyReport
from cogov.ledger.service import consistency_proof

Progress = Callable[[int], None]
_PROGRESS_EVERY = 0xFFFF  # report after every 65,536 entries


def verify(
    session: Session,
    *,
    public_key: Ed25519PublicKey | None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Check the chain, every entry hash, and every checkpoint (signature with
    ``public_key``, order, root, consistency). Read-only. ``progress`` is called with
    the number of entries checked so far, every 65,536 entries."""
    rows = repository.checkpoints(session)
    checkpoint_problems, signed = _check_checkpoints(rows, public_key)
    # Entries are compared with the SIGNED roots only: a checkpoint whose signature
    # fails says nothing about the entries.
    scan = _scan(repository.stream_entries(session), signed, progress)
    problems: list[Problem] = []
    if scan.problem is not None:
        problems.append(_diagnose(session, scan.problem))
    latest = signed[max(signed)] if signed else None
    if scan.problem is None and latest is not None and scan.count < latest.tree_size:
        problems.append(
            Problem(
                "truncated",
                f"entry {scan.count + 1} is missing: checkpoint {latest.number} covers "
                f"{latest.tree_size} entries but the ledger ends at seq {scan.count} "
                "(the tail after a checkpoint was removed)",
                seq=scan.count + 1,
                checkpoint=latest.number,
            )
        )
    problems += checkpoint_problems
    if not problems:
        problems += _check_consistency(session, rows)
    newest = rows[-1] if rows else None
    return VerifyReport(
        entries=scan.count,
        head_hash=scan.head_hash,
        checkpoints=len(rows),
        checkpoint_size=newest.tree_size if newest else None,
        checkpoint_root=newest.root_hash if newest else None,
        problems=problems,
    )


class _Scan:
    __slots__ = ("count", "head_hash", "problem")

    def __init__(self) -> None:
        self.count = 0
        self.head_hash = GENESIS_HASH
        self.problem: Problem | None = None


def _scan(
    rows: Iterator[tuple[Any, ...]],
    checkpoints: dict[int, LedgerCheckpoint],
    progress: Progress | None,
) -> _Scan:
    scan = _Scan()
    frontier = merkle.Frontier()
    push, sha, encode = frontier.push, hashlib.sha256, leaf_input
    stops = sorted(size for size in checkpoints if size > 0)
    next_stop = stops.pop(0) if stops else -1
    count, prev = 0, GENESIS_HASH
    try:
        for seq, recorded_at, kind, case_id, actor, responsible, payload, prev_hash, stored in rows:
            digest = sha(
                encode(seq, recorded_at, kind, case_id, actor, responsible, payload, prev_hash)
            ).digest()
            count += 1
            if seq != count or prev_hash != prev or digest.hex() != stored:
                # The expected seq is the first bad one (missing if the row's seq is past it).
                scan.problem = Problem("entry", "", seq=count)
                count -= 1
                break
            push(digest)
            prev = stored
            if count == next_stop:
                row = checkpoints[count]
                if frontier.root().hex() != row.root_hash:
                    scan.problem = Problem("root_mismatch", "", seq=count, checkpoint=row.number)
                    break
                next_stop = stops.pop(0) if stops else -1
            if progress is not None and not count & _PROGRESS_EVERY:
                progress(count)
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        # sqlite3 raises while reading a row whose text is not UTF-8 (edited raw).
        scan.problem = Problem("unreadable", str(exc), seq=count + 1)
    except Exception as exc:  # the DBAPI's own error classes differ per driver
        if "decode" not in str(exc).lower():
            raise
        scan.problem = Problem("unreadable", str(exc), seq=count + 1)
    scan.count, scan.head_hash = count, prev
    if progress is not None:
        progress(count)
    return scan


def _fields(entry: LedgerEntry) -> tuple[Any, ...]:
    return (
        entry.seq,
        entry.recorded_at,
        entry.kind,
        entry.case_id,
        entry.actor,
        entry.responsible,
        entry.payload,
        entry.prev_hash,
    )


def _content_hash(entry: LedgerEntry) -> str:
    return hashlib.sha256(leaf_input(*_fields(entry))).hexdigest()


def _diagnose(session: Session, found: Problem) -> Problem:
    """Turn the scan's first failure into a precise statement of what is wrong."""
    seq = found.seq or 1
    if found.code == "unreadable":
        return Problem(
            "unreadable", f"entry {seq} cannot be read: {found.message}",
            seq=seq,
        )  # fmt: skip
    if found.code == "root_mismatch":
        return _locate_rewrite(session, found)
    near = {entry.seq: entry for entry in repository.entries_around(session, seq, 1, 2)}
    previous, this, following = near.get(seq - 1), near.get(seq), near.get(seq + 1)
    expected_prev = previous.entry_hash if previous else GENESIS_HASH
    if this is None:
        later = min((s for s in near if s > seq), default=None)
        where = f"jumps from {seq - 1} to {later}" if later else f"ends at {seq - 1}"
        return Problem("missing", f"entry {seq} is missing (deleted): the ledger {where}", seq=seq)
    content = _content_hash(this)
    if this.prev_hash != expected_prev:
        if following is not None and this.prev_hash == following.entry_hash:
            return Problem(
                "reordered",
                f"entry {seq} does not follow entry {seq - 1}: it links to the entry stored "
                f"at seq {seq + 1}, so entries {seq} and {seq + 1} were swapped",
                seq=seq,
            )
        if content == this.entry_hash:
            return Problem(
                "prev_hash_changed",
                f"entry {seq}'s prev_hash does not link to entry {seq - 1} "
                "(the chain was broken or the entry rewritten)",
                seq=seq,
            )
        return Problem(
            "broken_link",
            f"entry {seq} does not link to entry {seq - 1} and its content does not "
            "match its hash (the entry was replaced or reordered)",
            seq=seq,
        )
    if following is not None and following.prev_hash == content:
        return Problem(
            "hash_changed",
            f"entry {seq}'s stored entry_hash was changed: its content still hashes to "
            f"{content[:16]}…, which entry {seq + 1} links to",
            seq=seq,
        )
    return Problem(
        "content_changed",
        f"entry {seq}'s content was changed: it no longer hashes to its stored entry_hash "
        f"{this.entry_hash[:16]}…",
        seq=seq,
    )


def _locate_rewrite(session: Session, found: Problem) -> Problem:
    """The chain is intact but does not hash to a signed root: entries were rewritten
    and re-chained. Narrow it down with the checkpoint before and the node store."""
    size, number = found.seq or 0, found.checkpoint
    earlier = [row for row in repository.checkpoints(session) if row.tree_size < size]
    start = earlier[-1].tree_size + 1 if earlier else 1
    first = _first_changed_pair(session, start, size)
    where = f"at or just after seq {first}" if first else f"in seq {start}..{size}"
    return Problem(
        "root_mismatch",
        f"entries 1..{size} no longer hash to the root signed in checkpoint {number}: "
        f"entries were rewritten and re-chained, first change {where}",
        seq=first or start,
        checkpoint=number,
    )


def _first_changed_pair(session: Session, start_seq: int, size: int) -> int | None:
    """First seq whose level-1 tree node (a pair of leaves) no longer matches the
    node store, or None when the node store cannot tell."""
    first_pair = (start_seq - 1) // 2
    pairs = range(first_pair, size // 2)
    for chunk_start in range(pairs.start, pairs.stop, 4096):
        chunk = range(chunk_start, min(chunk_start + 4096, pairs.stop))
        stored = repository.tree_nodes(session, [(1, index) for index in chunk])
        leaves = repository.leaf_hashes(session, range(2 * chunk.start, 2 * (chunk.stop - 1) + 2))
        for index in chunk:
            node = stored.get((1, index))
            left, right = leaves.get(2 * index), leaves.get(2 * index + 1)
            if node is None or left is None or right is None:
                return None
            if merkle.node_hash(left, right) != node:
                return 2 * index + 1
    return None


def _check_checkpoints(
    rows: list[LedgerCheckpoint], public_key: Ed25519PublicKey | None
) -> tuple[list[Problem], dict[int, LedgerCheckpoint]]:
    """Check each checkpoint on its own and against the one before; return the first
    problem and the checkpoints (by tree size) whose signed note vouches for them."""
    if not rows:
        return [], {}
    if public_key is None:
        problem = Problem(
            "no_public_key",
            f"{len(rows)} checkpoints cannot be checked without the public key",
            checkpoint=rows[0].number,
        )
        return [problem], {}
    signed: dict[int, LedgerCheckpoint] = {}
    before: LedgerCheckpoint | None = None
    for row in rows:
        found = _check_one(row, before, public_key)
        if found is not None:
            return [found], signed
        signed[row.tree_size] = row
        before = row
    return [], signed


def _check_one(
    row: LedgerCheckpoint, before: LedgerCheckpoint | None, public_key: Ed25519PublicKey
) -> Problem | None:
    number = row.number
    expected_number = before.number + 1 if before else 1
    if number != expected_number:
        return Problem(
            "checkpoint_missing", f"checkpoint {expected_number} is missing", checkpoint=number
        )
    try:
        note = verify_checkpoint(row.note, public_key)
    except CheckpointError as exc:
        return Problem(
            "checkpoint_signature",
            f"checkpoint {number} (tree size {row.tree_size}): {exc}",
            checkpoint=number,
        )
    if (note.size, note.root.hex(), note.origin, note.time) != (
        row.tree_size,
        row.root_hash,
        row.origin,
        row.recorded_at,
    ):
        return Problem(
            "checkpoint_columns",
            f"checkpoint {number}: stored size, root, origin or time differ from its signed note",
            checkpoint=number,
        )
    if before is None:
        return None
    if row.origin != before.origin:
        return Problem(
            "checkpoint_origin",
            f"checkpoint {number} names origin {row.origin!r}, checkpoint {before.number} "
            f"{before.origin!r}: one ledger keeps one origin",
            checkpoint=number,
        )
    if row.tree_size <= before.tree_size or row.recorded_at < before.recorded_at:
        return Problem(
            "checkpoint_order",
            f"checkpoint {number} does not come after checkpoint {before.number} "
            "(tree size must grow and time must not go back)",
            checkpoint=number,
        )
    return None


def _check_consistency(session: Session, rows: list[LedgerCheckpoint]) -> list[Problem]:
    """Each checkpoint's tree extends the one before: an RFC 9162 consistency proof,
    built from the node store and checked with the pure verifier against both
    signed roots."""
    for old, new in itertools.pairwise(rows):
        problem = Problem(
            "checkpoint_inconsistent",
            f"checkpoint {new.number} (size {new.tree_size}) is not consistent with "
            f"checkpoint {old.number} (size {old.tree_size})",
            checkpoint=new.number,
        )
        try:
            proof = consistency_proof(session, old.tree_size, new.tree_size)
        except LedgerError:
            return [problem]
        old_root, new_root = bytes.fromhex(old.root_hash), bytes.fromhex(new.root_hash)
        if not verify_consistency(old.tree_size, new.tree_size, old_root, new_root, proof.path):
            return [problem]
    return []

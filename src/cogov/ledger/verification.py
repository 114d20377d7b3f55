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
import multiprocessing
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


def verify(
    session: Session,
    *,
    public_key: Ed25519PublicKey | None,
    progress: Progress | None = None,
    workers: int = 1,
) -> VerifyReport:
    """Check the chain, every entry hash, and every checkpoint (signature with
    ``public_key``, order, root, consistency). Read-only. ``progress`` is called with
    the number of entries checked so far.

    ``workers=2`` hashes the later 60 % of a large ledger (200,000 entries or more)
    in a forked process over a connection of its own. That process sees only
    committed entries; any this transaction appended are then checked here.
    """
    rows = repository.checkpoints(session)
    checkpoint_problems, signed = _check_checkpoints(rows, public_key)
    # Entries are compared with the SIGNED roots only: a checkpoint whose signature
    # fails says nothing about the entries.
    scan = _Scanner(signed, progress)
    last_seq = repository.last_seq(session)
    helper = _Helper.start(session, last_seq, workers)
    own_last = helper.first_seq - 1 if helper else last_seq
    scan.rows(repository.stream_entries(session, last_seq=own_last))
    if scan.problem is None and scan.count < own_last:  # a gap just before the helper's part
        scan.problem = Problem("entry", "", seq=scan.count + 1)
    if helper is not None:
        chunk = helper.result()
        if scan.problem is None and scan.count == own_last:
            scan.chunk(chunk)
        if scan.problem is None and scan.count < last_seq:
            # The helper saw fewer rows than this session does (entries this very
            # transaction appended are invisible to it): check the rest here.
            scan.rows(repository.stream_entries(session, after_seq=scan.count, last_seq=last_seq))
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
    if not problems and not repository.has_own_staged(session):
        unchained = repository.staged_count(session)
        if unchained:
            # Only a disabled or dropped trigger commits a staged row (migration 0003).
            problems.append(
                Problem(
                    "unchained",
                    f"{unchained} staged entries were committed without being chained into "
                    "the ledger (the ledger_staged_integrate trigger did not run)",
                )
            )
    newest = rows[-1] if rows else None
    return VerifyReport(
        entries=scan.count,
        head_hash=scan.prev,
        checkpoints=len(rows),
        checkpoint_size=newest.tree_size if newest else None,
        checkpoint_root=newest.root_hash if newest else None,
        problems=problems,
    )


_BATCH = 1 << 16  # rows hashed between two progress reports


class _Chunk:
    """Rows checked on their own: their leaf hashes, the first row's prev_hash (for
    the caller to link), the last row's stored hash, and the first problem."""

    __slots__ = ("digests", "first_prev", "last_hash", "problem")

    def __init__(self) -> None:
        self.digests: list[bytes] = []
        self.first_prev: str | None = None
        self.last_hash: str | None = None
        self.problem: Problem | None = None


def _check_rows(
    rows: Iterator[tuple[Any, ...]], expected_seq: int, expected_prev: str | None
) -> _Chunk:
    """Recompute each row's hash (rules.leaf_input, the one hashing rule) and check
    seq contiguity and prev_hash links. ``expected_prev=None``: take the first row's
    prev_hash as given (the caller links it to the entry before)."""
    chunk = _Chunk()
    digests = chunk.digests
    append, sha, encode = digests.append, hashlib.sha256, leaf_input
    seq, prev = expected_seq, expected_prev  # the seq being read, the hash it must link to
    try:
        if prev is None:  # take the first row's link as given; the caller checks it
            rows = iter(rows)
            first = next(rows, None)
            if first is None:
                return chunk
            chunk.first_prev = prev = first[7]
            rows = itertools.chain([first], rows)
        for row_seq, at, kind, case_id, actor, responsible, payload, prev_hash, stored in rows:
            digest = sha(
                encode(row_seq, at, kind, case_id, actor, responsible, payload, prev_hash)
            ).digest()
            if row_seq != seq or prev_hash != prev or digest.hex() != stored:
                # The expected seq is the first bad one (missing if the row's seq is past it).
                chunk.problem = Problem("entry", "", seq=seq)
                break
            append(digest)
            prev = stored
            seq += 1
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        # sqlite3 raises while reading a row whose text is not UTF-8 (edited raw).
        chunk.problem = Problem("unreadable", str(exc), seq=seq)
    except Exception as exc:  # the DBAPI's own error classes differ per driver
        if "decode" not in str(exc).lower():
            raise
        chunk.problem = Problem("unreadable", str(exc), seq=seq)
    chunk.last_hash = prev if digests else None
    return chunk


class _Scanner:
    """Feeds checked leaves into a Merkle frontier, comparing the root with each
    signed checkpoint's root as the tree reaches its size."""

    def __init__(self, checkpoints: dict[int, LedgerCheckpoint], progress: Progress | None):
        self.checkpoints = checkpoints
        self.stops = sorted(size for size in checkpoints if size > 0)
        self.frontier = merkle.Frontier()
        self.progress = progress
        self.count = 0
        self.prev = GENESIS_HASH
        self.problem: Problem | None = None

    def rows(self, rows: Iterator[tuple[Any, ...]]) -> None:
        while self.problem is None:
            chunk = _check_rows(itertools.islice(rows, _BATCH), self.count + 1, self.prev)
            self._leaves(chunk.digests, chunk.last_hash)
            if self.problem is None:
                self.problem = chunk.problem
            if self.progress is not None:
                self.progress(self.count)
            if len(chunk.digests) < _BATCH:
                return

    def chunk(self, chunk: _Chunk) -> None:
        """Continue with rows a helper process checked (from seq ``count + 1``)."""
        if chunk.digests and chunk.first_prev != self.prev:
            self.problem = Problem("entry", "", seq=self.count + 1)
            return
        self._leaves(chunk.digests, chunk.last_hash)
        if self.problem is None:
            self.problem = chunk.problem
        if self.progress is not None:
            self.progress(self.count)

    def _leaves(self, digests: list[bytes], last_hash: str | None) -> None:
        frontier, stops = self.frontier, self.stops
        position = 0
        while position < len(digests):
            # Up to the next checkpoint's size (or the end of the batch) in one go.
            room = stops[0] - frontier.size if stops else len(digests)
            frontier.extend(digests[position : position + room])
            position += room
            if stops and frontier.size == stops[0]:
                row = self.checkpoints[stops.pop(0)]
                if frontier.root().hex() != row.root_hash:
                    self.problem = Problem(
                        "root_mismatch", "", seq=frontier.size, checkpoint=row.number
                    )
                    self.count = frontier.size
                    self.prev = ""  # unknown past a failed root: the problem says why
                    return
        self.count = frontier.size
        if last_hash is not None:
            self.prev = last_hash


class _Helper:
    """A forked process that checks entries ``first_seq..last_seq`` over its own
    connection while the caller checks the first part: two cores, about half the time."""

    def __init__(self, process: Any, receiver: Any, first_seq: int) -> None:
        self.process, self.receiver, self.first_seq = process, receiver, first_seq

    @classmethod
    def start(cls, session: Session, last_seq: int, workers: int) -> _Helper | None:
        url = session.get_bind().engine.url
        if (
            workers < 2
            or last_seq < _MIN_PARALLEL
            or "fork" not in multiprocessing.get_all_start_methods()
            or (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))
        ):
            return None
        # The caller also folds every leaf into the Merkle tree, so it checks a bit
        # less than half: both finish together.
        first_seq = last_seq * 2 // 5 + 1
        receiver, sender = multiprocessing.get_context("fork").Pipe(duplex=False)
        process = multiprocessing.get_context("fork").Process(
            target=_helper_main,
            args=(url.render_as_string(hide_password=False), first_seq, last_seq, sender),
            daemon=True,
        )
        process.start()
        sender.close()
        return cls(process, receiver, first_seq)

    def result(self) -> _Chunk:
        try:
            first_prev, last_hash, problem, blob = self.receiver.recv()
        except EOFError:
            self.process.join()
            raise LedgerError("the verify helper process died before it reported") from None
        self.process.join()
        chunk = _Chunk()
        chunk.digests = [blob[i : i + 32] for i in range(0, len(blob), 32)]
        chunk.first_prev, chunk.last_hash, chunk.problem = first_prev, last_hash, problem
        return chunk


_MIN_PARALLEL = 200_000  # below this a helper process costs more than it saves


def _helper_main(url: str, first_seq: int, last_seq: int, sender: Any) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        connection: Any = engine.raw_connection()
        try:
            cursor = connection.cursor()
            sql = (
                f"SELECT {', '.join(repository.ENTRY_COLUMNS)} FROM ledger_entries "
                "WHERE seq >= ? AND seq <= ? ORDER BY seq"
            )
            if engine.dialect.name == "postgresql":
                sql = sql.replace("?", "%s")
            cursor.execute(sql, (first_seq, last_seq))
            chunk = _check_rows(iter(cursor), first_seq, None)
        finally:
            connection.close()
        sender.send((chunk.first_prev, chunk.last_hash, chunk.problem, b"".join(chunk.digests)))
    finally:
        sender.close()
        engine.dispose()


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

"""Use cases of the ledger. Services never commit: the caller's unit of work does."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from cogov.core.canonical import canonical_json
from cogov.core.clock import Clock, SystemClock, iso_utc
from cogov.core.settings import Settings
from cogov.ledger import merkle, repository
from cogov.ledger.errors import (
    InvalidEntry,
    NoCheckpoint,
    NoSuchEntry,
    PersonalDataInPayload,
    TreeInconsistent,
)
from cogov.ledger.keys import LedgerKey, load_or_create_key
from cogov.ledger.models import LedgerCheckpoint, LedgerEntry
from cogov.ledger.note import Checkpoint, sign_checkpoint
from cogov.ledger.proofs import verify_consistency, verify_inclusion
from cogov.ledger.rules import (
    GENESIS_HASH,
    find_personal_key,
    header_problem,
    leaf_input,
    payload_text,
)
from cogov.ledger.schemas import (
    AppendedRange,
    ConsistencyProof,
    EntryDraft,
    InclusionProof,
    LedgerEntryRead,
    Responsible,
)

_TAIL_KEY = "cogov.ledger.tail"
# Sticky for the session's life: a cheap first test before the ORM read hook looks
# further (whether entries are staged now is kept on the connection, see repository).
_EVER_STAGED_KEY = "cogov.ledger.ever_staged"
_SYSTEM_CLOCK = SystemClock()


def _forget_tail(session: Session, *_args: Any) -> None:
    session.info.pop(_TAIL_KEY, None)


# The tail is cached for the life of one transaction only: once it ends, another
# writer may append, so the next transaction reads the tail again under the lock.
# Savepoints count too: entries appended inside a savepoint that is rolled back are
# gone, and a cached tail would leave a gap in the chain.
event.listen(Session, "after_commit", _forget_tail)
event.listen(Session, "after_rollback", _forget_tail)
event.listen(Session, "after_soft_rollback", _forget_tail)
event.listen(Session, "after_transaction_end", _forget_tail)


def _locked_tail(session: Session) -> tuple[int, str]:
    # Entries this transaction staged are chained first, keeping their place; that
    # moves the tail, so a cached one is stale.
    staged = bool(session.info.get(_EVER_STAGED_KEY)) and repository.take_staged(session)
    cached: tuple[int, str] | None = None if staged else session.info.get(_TAIL_KEY)
    if cached is None:
        # Pending ORM rows of this transaction go first (in order, as in one flush),
        # and before the lock: nothing that can wait is done while holding it.
        session.flush()
        cached = repository.locked_tail(session, chain_staged=staged) or (0, GENESIS_HASH)
    return cached


def stage(session: Session, draft: EntryDraft, *, clock: Clock | None = None) -> None:
    """Append ``draft`` as the caller's transaction commits: the same checks, entry and
    hash as :func:`append_draft`, but without holding the ledger's lock until then.

    On PostgreSQL the entry is stored as staged, and a deferred trigger chains it at
    commit under the lock (migration 0003), so a writer holds the lock for its own
    chaining and commit only, not across round trips to this process: concurrent
    writers stop queueing behind each other's network and thread wake-ups. If the
    commit fails, nothing is written; an entry appended later in the same
    transaction still comes after it. On SQLite, whose transactions hold the one write
    lock from their start, the entry is appended at once.

    For entries the transaction does not read back: it has no sequence number until
    commit (:func:`chain_staged` chains it sooner). Raises as :func:`append` does,
    before anything is stored.
    """
    if session.get_bind().dialect.name != "postgresql":
        append_draft(session, draft, clock=clock)
        return
    payload_json, responsible_text = _checked_texts(
        draft.kind, draft.actor, draft.case_id, draft.payload, draft.responsible
    )
    recorded_at = iso_utc((clock or _SYSTEM_CLOCK).now())
    repository.insert_staged(
        session,
        (recorded_at, draft.kind, draft.case_id, draft.actor, responsible_text, payload_json),
    )
    repository.mark_staged(session)
    session.info[_EVER_STAGED_KEY] = True


def chain_staged(session: Session) -> None:
    """Chain the entries this transaction staged now instead of at commit, so it can
    read them back (a no-op when it staged none)."""
    if session.info.get(_EVER_STAGED_KEY) and repository.take_staged(session):
        session.info.pop(_TAIL_KEY, None)
        repository.chain_staged(session)


def _chain_before_reading(state: ORMExecuteState) -> None:
    # Read-your-writes for any ORM query on the entries in a transaction that staged
    # some (the ledger's own read functions call chain_staged themselves). A session
    # that never staged (nearly all of them) pays one dict lookup per query.
    if not state.session.info.get(_EVER_STAGED_KEY) or not state.is_select:
        return
    if any(mapper.class_ is LedgerEntry for mapper in state.all_mappers):
        chain_staged(state.session)


event.listen(Session, "do_orm_execute", _chain_before_reading)


def _checked_texts(
    kind: str,
    actor: str,
    case_id: str | None,
    payload: Mapping[str, Any] | None,
    responsible: Responsible | None,
    where: str = "",
) -> tuple[str, str]:
    """Validate one entry's fields; return its (payload, responsible) canonical texts."""
    problem = header_problem(kind, actor, case_id)
    if problem:
        raise InvalidEntry(f"{where}{problem[0]}", problem[1])
    body = payload if payload is not None else {}
    try:
        leaked = find_personal_key(body)
        if leaked:
            raise PersonalDataInPayload(leaked, where=where)
        text = payload_text(body)
    except (TypeError, ValueError) as exc:
        raise InvalidEntry(f"{where}payload", f"not canonical JSON: {exc}") from exc
    return text, _responsible_text(responsible)


@functools.lru_cache(maxsize=1024)
def _responsible_text(responsible: Responsible | None) -> str:
    # Cached: a batch usually names the same few parties many times over.
    return canonical_json(responsible.as_dict()) if responsible is not None else "{}"


def append(
    session: Session,
    *,
    kind: str,
    actor: str,
    payload: Mapping[str, Any] | None = None,
    case_id: str | None = None,
    responsible: Responsible | None = None,
    clock: Clock | None = None,
) -> LedgerEntry:
    """Append one entry in the caller's transaction and return it (written, as a row
    the session does not track).

    Raises InvalidEntry for a malformed kind, actor or case id, PersonalDataInPayload
    when the payload carries a key that may hold contact or personal data.
    """
    payload_json, responsible_text = _checked_texts(kind, actor, case_id, payload, responsible)
    last_seq, last_hash = _locked_tail(session)
    seq, recorded_at = last_seq + 1, iso_utc((clock or _SYSTEM_CLOCK).now())
    data = leaf_input(
        seq, recorded_at, kind, case_id, actor, responsible_text, payload_json, last_hash
    )
    digest = hashlib.sha256(data).hexdigest()
    row = (seq, recorded_at, kind, case_id, actor, responsible_text, payload_json, last_hash)
    # Written as a plain INSERT, not through the ORM's unit of work (a third of an
    # intake's CPU went to flushing its rows); pending ORM rows of this transaction go
    # first, in order, as they would have in one flush.
    session.flush()
    repository.insert_entries(session, [(*row, digest)])
    session.info[_TAIL_KEY] = (seq, digest)
    return LedgerEntry(**dict(zip(repository.ENTRY_COLUMNS, (*row, digest), strict=True)))


def append_draft(session: Session, draft: EntryDraft, *, clock: Clock | None = None) -> LedgerEntry:
    """:func:`append` for an entry built beforehand (an :class:`EntryDraft`)."""
    return append(
        session,
        kind=draft.kind,
        actor=draft.actor,
        payload=draft.payload,
        case_id=draft.case_id,
        responsible=draft.responsible,
        clock=clock,
    )


def append_many(
    session: Session, entries: Iterable[EntryDraft], *, clock: Clock | None = None
) -> AppendedRange:
    """Append many entries in the caller's transaction with one bulk insert.

    Every entry is checked before anything is written, so a bad one (named by its
    position, e.g. ``entries[41].actor``) leaves the ledger untouched. The same rules
    and hashing as :func:`append`; for replays, demos and imports.
    """
    clock = clock or _SYSTEM_CLOCK
    checked = []
    for position, draft in enumerate(entries):
        texts = _checked_texts(
            draft.kind,
            draft.actor,
            draft.case_id,
            draft.payload,
            draft.responsible,
            where=f"entries[{position}].",
        )
        checked.append((draft, *texts))
    last_seq, last_hash = _locked_tail(session)
    first_seq = last_seq + 1
    sha = hashlib.sha256
    rows: list[tuple[Any, ...]] = []
    recorded_at = iso_utc(clock.now())  # one batch, one moment of recording
    for draft, payload_json, responsible_text in checked:
        last_seq += 1
        kind, case_id, actor = draft.kind, draft.case_id, draft.actor
        data = leaf_input(
            last_seq, recorded_at, kind, case_id, actor, responsible_text, payload_json, last_hash
        )
        digest = sha(data).hexdigest()
        rows.append(
            (last_seq, recorded_at, kind, case_id, actor, responsible_text, payload_json,
             last_hash, digest)
        )  # fmt: skip
        last_hash = digest
    session.flush()  # pending ORM rows of this transaction go first, in order
    repository.insert_entries(session, rows)
    session.info[_TAIL_KEY] = (last_seq, last_hash)
    return AppendedRange(first_seq, last_seq, last_hash)


def read_entry(entry: LedgerEntry) -> LedgerEntryRead:
    return LedgerEntryRead(
        seq=entry.seq,
        recorded_at=entry.recorded_at,
        kind=entry.kind,
        case_id=entry.case_id,
        actor=entry.actor,
        responsible=json.loads(entry.responsible),
        payload=json.loads(entry.payload),
        prev_hash=entry.prev_hash,
        entry_hash=entry.entry_hash,
    )


def entries_before(session: Session, *, last: int, count: int) -> list[LedgerEntryRead]:
    """Up to ``count`` entries ending with entry ``last`` (inclusive), newest first:
    one page of a ledger explorer. Empty when ``last`` or ``count`` is below 1."""
    if last < 1 or count < 1:
        return []
    chain_staged(session)
    rows = repository.entries_around(session, last, count - 1, 0)
    return [read_entry(row) for row in reversed(rows)]


def entry_at(session: Session, *, seq: int) -> LedgerEntryRead | None:
    """Entry ``seq`` as a read model, or None when the ledger has no such entry."""
    chain_staged(session)
    row = repository.entry(session, seq)
    return read_entry(row) if row is not None else None


def entries_for_case(session: Session, case_id: str) -> list[LedgerEntryRead]:
    """Every entry about one case, oldest first (the case's accountability trail)."""
    chain_staged(session)
    return [read_entry(entry) for entry in repository.entries_for_case(session, case_id)]


def entries_for_cases(
    session: Session, case_ids: Sequence[str], *, kinds: Sequence[str] | None = None
) -> dict[str, list[LedgerEntryRead]]:
    """Every entry about each of these cases (only ``kinds`` when given), oldest
    first, keyed by case id; every id asked for is a key (an empty list when the
    ledger has nothing on it). The bulk form of :func:`entries_for_case`, for
    reports over a whole period: a few queries instead of one per case."""
    by_case: dict[str, list[LedgerEntryRead]] = {case_id: [] for case_id in case_ids}
    chain_staged(session)
    for row in repository.entries_for_cases(session, list(by_case), kinds):
        record = _parsed_record(row)
        by_case[record["case_id"]].append(LedgerEntryRead(**record))
    return by_case


def _parsed_record(row: Sequence[Any]) -> dict[str, Any]:
    """An entry row (ENTRY_COLUMNS) as a dict, payload and responsible parsed."""
    record = dict(zip(repository.ENTRY_COLUMNS, row, strict=True))
    record["responsible"] = json.loads(record["responsible"])
    record["payload"] = json.loads(record["payload"])
    return record


def export_entries(session: Session) -> Iterator[str]:
    """Every entry as one JSON line (payload and responsible as JSON objects), oldest
    first, streamed. ``entry_bytes`` re-encodes a line's entry exactly (see rules.py)."""
    chain_staged(session)
    for row in repository.stream_entries(session):
        record = _parsed_record(row)
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def entry_count(session: Session) -> int:
    chain_staged(session)
    found = repository.tail(session)
    return found[0] if found else 0


# --- signing key ------------------------------------------------------------------


def signing_key(settings: Settings, *, create: bool = True) -> LedgerKey:
    """The checkpoint signing key at ``settings.resolved_ledger_key_file`` (created,
    mode 0600, on first use unless ``create`` is False)."""
    return load_or_create_key(
        settings.resolved_ledger_key_file, origin=settings.ledger_origin, create=create
    )


def public_key_pem(settings: Settings) -> str:
    """The PEM public key that checks every checkpoint (creates the key pair if absent)."""
    return signing_key(settings).public_key_pem


# --- checkpoints -----------------------------------------------------------------


def _checkpoint_of(row: LedgerCheckpoint) -> Checkpoint:
    return Checkpoint(
        origin=row.origin,
        size=row.tree_size,
        root=bytes.fromhex(row.root_hash),
        time=row.recorded_at,
        note=row.note,
        key_name=row.origin,
        key_hash=bytes.fromhex(row.key_hash),
    )


def latest_checkpoint(session: Session) -> Checkpoint | None:
    """The newest stored checkpoint, as stored (``verify`` checks its signature)."""
    row = repository.latest_checkpoint(session)
    return _checkpoint_of(row) if row else None


def checkpoint_at(session: Session, size: int) -> Checkpoint | None:
    row = repository.checkpoint_of_size(session, size)
    return _checkpoint_of(row) if row else None


def _frontier(session: Session, size: int) -> merkle.Frontier:
    nodes = _node_hashes(session, merkle.frontier_nodes(size), integrated=size)
    return merkle.Frontier(size, [nodes[node] for node in merkle.frontier_nodes(size)])


def make_checkpoint(session: Session, *, key: LedgerKey, clock: Clock | None = None) -> Checkpoint:
    """Sign a checkpoint over every entry so far and store it; return it.

    Integrates the entries since the previous checkpoint into the tree-node store
    (checking that their seq and prev_hash links are unbroken) and refuses to sign if
    the stored tree no longer reproduces the previous signed root. When nothing was
    appended since the latest checkpoint, that one is returned unchanged.
    """
    chain_staged(session)
    repository.lock_for_append(session)
    session.flush()
    size = entry_count(session)
    previous = repository.latest_checkpoint(session)
    old_size = previous.tree_size if previous else 0
    if previous is not None and size == old_size:
        return _checkpoint_of(previous)
    if size < old_size:
        raise TreeInconsistent(
            f"the ledger holds {size} entries but checkpoint {previous.number if previous else 0} "
            f"covers {old_size}: entries were removed; run `cogov ledger verify`"
        )
    frontier = _frontier(session, old_size)
    if previous is not None and frontier.root().hex() != previous.root_hash:
        raise TreeInconsistent(
            f"stored tree nodes do not reproduce checkpoint {previous.number}'s root; "
            "run `cogov ledger verify`"
        )
    completed: list[tuple[int, int, bytes]] = []
    expected_seq, expected_prev = old_size + 1, None
    if old_size:
        expected_prev = repository.leaf_hashes(session, [old_size - 1])[old_size - 1].hex()
    else:
        expected_prev = GENESIS_HASH
    for seq, prev_hash, entry_hash in repository.stream_links(session, old_size + 1, size):
        if seq != expected_seq or prev_hash != expected_prev:
            raise TreeInconsistent(
                f"entry {expected_seq} is missing or does not link to entry {expected_seq - 1}; "
                "run `cogov ledger verify`"
            )
        frontier.push_collect(bytes.fromhex(entry_hash), completed)
        expected_seq, expected_prev = seq + 1, entry_hash
    if frontier.size != size:
        raise TreeInconsistent(f"expected {size} entries, found {frontier.size}")
    repository.insert_tree_nodes(session, completed)
    checkpoint = sign_checkpoint(
        key.private_key,
        origin=key.origin,
        size=size,
        root=frontier.root(),
        time=iso_utc((clock or _SYSTEM_CLOCK).now()),
    )
    repository.add_checkpoint(
        session,
        LedgerCheckpoint(
            number=(previous.number if previous else 0) + 1,
            tree_size=size,
            root_hash=checkpoint.root_hex,
            recorded_at=checkpoint.time,
            origin=checkpoint.origin,
            key_hash=checkpoint.key_hash.hex(),
            note=checkpoint.note,
        ),
    )
    return checkpoint


# --- proofs ----------------------------------------------------------------------


def _node_hashes(
    session: Session, wanted: Iterable[merkle.NodeId], *, integrated: int
) -> dict[merkle.NodeId, bytes]:
    """Hashes of perfect subtrees: stored ones from the node store, leaves from the
    entries, and those reaching past the integrated size computed from their leaves."""
    stored: set[merkle.NodeId] = set()
    leaves: set[int] = set()
    children: dict[merkle.NodeId, tuple[merkle.NodeId, merkle.NodeId]] = {}
    pending = list(set(wanted))
    while pending:
        node = pending.pop()
        level, index = node
        if level == 0:
            leaves.add(index)
        elif (index + 1) << level <= integrated:
            stored.add(node)
        elif node not in children:
            pair = (level - 1, 2 * index), (level - 1, 2 * index + 1)
            children[node] = pair
            pending.extend(pair)
    hashes = repository.tree_nodes(session, stored)
    if len(hashes) != len(stored):
        missing = sorted(stored - hashes.keys())[0]
        raise TreeInconsistent(f"tree node {missing} is missing from the node store")
    for index, digest in repository.leaf_hashes(session, leaves).items():
        hashes[(0, index)] = digest
    if len(leaves) != sum(1 for node in hashes if node[0] == 0):
        raise TreeInconsistent("an entry inside the tree is missing")
    # Children before parents: a parent's level is always higher.
    for node in sorted(children, key=lambda item: item[0]):
        left, right = children[node]
        hashes[node] = merkle.node_hash(hashes[left], hashes[right])
    return hashes


class _TreeView:
    """What a proof needs to know about the tree: the latest checkpoint (whose size
    is how far the node store reaches) and the number of entries, read once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.latest = repository.latest_checkpoint(session)
        self.integrated = self.latest.tree_size if self.latest else 0

    def size_or_latest(self, size: int | None, field: str) -> int:
        if size is None:
            if self.latest is None:
                raise NoCheckpoint("no checkpoint yet: make one first (`cogov ledger checkpoint`)")
            return self.latest.tree_size
        if size > self.integrated or size < 0:
            count = entry_count(self.session)
            if not 0 <= size <= count:
                raise NoSuchEntry(
                    field, f"tree size {size} is not between 0 and {count} (entries so far)"
                )
        return size

    def checkpoint(self, size: int) -> Checkpoint | None:
        if self.latest is not None and self.latest.tree_size == size:
            return _checkpoint_of(self.latest)
        if size > self.integrated:
            return None
        return checkpoint_at(self.session, size)

    def nodes(self, wanted: Iterable[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
        return _node_hashes(self.session, wanted, integrated=self.integrated)


def inclusion_proof(session: Session, seq: int, size: int | None = None) -> InclusionProof:
    """Proof that entry ``seq`` is in the tree of ``size`` entries (default: the
    latest checkpoint's size). When a checkpoint of that size exists the proof is
    checked against its signed root before it is returned, and carries it."""
    tree = _TreeView(session)
    size = tree.size_or_latest(size, "size")
    if not 1 <= seq <= size:
        span = f"1..{size}" if size else "the tree is empty"
        raise NoSuchEntry("seq", f"{seq} is not in a tree of {size} entries ({span})")
    ranges = merkle.inclusion_ranges(seq - 1, size)
    checkpoint = tree.checkpoint(size)
    wanted = merkle.proof_nodes(ranges)
    if checkpoint is None:
        wanted |= set(merkle.frontier_nodes(size))
    nodes = tree.nodes(wanted)
    path = [merkle.range_root(start, end, nodes) for start, end in ranges]
    root = checkpoint.root if checkpoint else merkle.range_root(0, size, nodes)
    row = repository.entry_row(session, seq)
    if row is None:
        raise TreeInconsistent(f"entry {seq} is missing")
    data = leaf_input(*row)
    leaf = hashlib.sha256(data).digest()
    if not verify_inclusion(leaf, seq - 1, size, path, root):
        raise TreeInconsistent(
            f"entry {seq} does not prove into the tree of size {size}; run `cogov ledger verify`"
        )
    return InclusionProof(seq, size, data[1:], leaf, path, root, checkpoint)


def consistency_proof(
    session: Session, old_size: int, new_size: int | None = None
) -> ConsistencyProof:
    """Proof that the tree of ``old_size`` is a prefix of the tree of ``new_size``
    (default: the latest checkpoint's size), checked against the signed roots of
    any checkpoints of those sizes before it is returned."""
    tree = _TreeView(session)
    new_size = tree.size_or_latest(new_size, "new_size")
    if not 0 <= old_size <= new_size:
        raise NoSuchEntry("old_size", f"{old_size} is not between 0 and {new_size}")
    ranges = merkle.consistency_ranges(old_size, new_size)
    old_cp, new_cp = tree.checkpoint(old_size), tree.checkpoint(new_size)
    wanted = merkle.proof_nodes(ranges)
    for size, known in ((old_size, old_cp), (new_size, new_cp)):
        if known is None:
            wanted |= set(merkle.frontier_nodes(size))
    nodes = tree.nodes(wanted)
    path = [merkle.range_root(start, end, nodes) for start, end in ranges]
    old_root = old_cp.root if old_cp else _root(old_size, nodes)
    new_root = new_cp.root if new_cp else _root(new_size, nodes)
    if not verify_consistency(old_size, new_size, old_root, new_root, path):
        raise TreeInconsistent(
            f"tree size {old_size} does not prove consistent with tree size {new_size}; "
            "run `cogov ledger verify`"
        )
    return ConsistencyProof(old_size, new_size, path, old_root, new_root, old_cp, new_cp)


def _root(size: int, nodes: Mapping[merkle.NodeId, bytes]) -> bytes:
    return merkle.range_root(0, size, nodes) if size else merkle.EMPTY_ROOT

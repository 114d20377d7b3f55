"""Benchmark of the accountability ledger against the physical limit, SHA-256.

The peer figure is hashlib's SHA-256 over the very bytes the ledger hashes (each
entry's ``0x00 || entry_bytes``), measured in the same run: no ledger can append
or verify faster than it can hash. Measured:

- append, one entry per transaction (each state change its own unit of work), and
  batched with append_many, on SQLite and PostgreSQL (a throw-away database);
- verify of 1,000,000 entries on SQLite (chain, every hash, Merkle root, signature);
- inclusion proof generation and check at 1,000,000 entries.

Targets (issue 2): verify 1M <= 3 s, batched append >= 20,000/s on SQLite, a proof
<= 1 ms. Run: ``.venv/bin/python bench/ledger.py`` (about two minutes).
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import table, write_section
from cogov.db.engine import make_engine
from cogov.db.migrate import upgrade
from cogov.db.session import unit_of_work
from cogov.ledger import (
    EntryDraft,
    Responsible,
    append,
    append_many,
    inclusion_proof,
    make_checkpoint,
    verify,
)
from cogov.ledger.keys import load_or_create_key
from cogov.ledger.proofs import verify_inclusion
from cogov.ledger.repository import stream_entries
from cogov.ledger.rules import leaf_input

PG_URL = os.environ.get("COGOV_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
VERIFY_ENTRIES = 1_000_000
BATCH_ENTRIES = 100_000
SINGLE_ENTRIES = 1_000
PROOFS = 2_000
SEED = 20261126


def drafts(count: int, offset: int = 0) -> list[EntryDraft]:
    """Entries shaped like the pipeline's: an agent's proposal about a case."""
    responsible = Responsible(developer="router@3#9f2c", deployer="cfg#41aa", guardian="user:7")
    return [
        EntryDraft(
            kind="proposal.made",
            actor="agent:router@3",
            case_id=f"case-{(offset + n) % 50_000:06d}",
            payload={"action": "route", "confidence": 0.91, "department": "roads", "n": offset + n},
            responsible=responsible,
        )
        for n in range(count)
    ]


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def append_single(engine: Engine, count: int) -> float:
    def run() -> None:
        for n in range(count):
            with unit_of_work(engine) as session:
                append(
                    session,
                    kind="proposal.made",
                    actor="agent:router@3",
                    case_id=f"single-{n}",
                    payload={"action": "route", "n": n},
                )

    return timed(run)


def append_batched(engine: Engine, count: int, batch: int = 50_000) -> float:
    work = drafts(count)

    def run() -> None:
        for start in range(0, count, batch):
            with unit_of_work(engine) as session:
                append_many(session, work[start : start + batch])

    return timed(run)


def sha256_limit(engine: Engine) -> tuple[float, int]:
    """Seconds hashlib needs for every stored entry's hashed bytes, and their count."""
    with unit_of_work(engine) as session:
        data = [leaf_input(*row[:8]) for row in stream_entries(session)]
    sha = hashlib.sha256
    seconds = timed(lambda: [sha(item).digest() for item in data])
    return seconds, len(data)


@contextmanager
def throwaway_postgres() -> Iterator[Engine | None]:
    try:
        admin = create_engine(make_url(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            name = f"cogov_bench_{uuid.uuid4().hex[:8]}"
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL skipped: no server at {PG_URL} ({type(exc).__name__})")
        yield None
        return
    engine = make_engine(make_url(PG_URL).set(database=name).render_as_string(False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure_backend(label: str, engine: Engine, rows: list[list[object]]) -> None:
    single = append_single(engine, SINGLE_ENTRIES)
    print(f"{label}: append, one per transaction: {rate(SINGLE_ENTRIES, single)}")
    batched = append_batched(engine, BATCH_ENTRIES)
    print(f"{label}: append_many: {rate(BATCH_ENTRIES, batched)}")
    limit, hashed = sha256_limit(engine)
    rows.append([f"append, one entry per transaction ({label})", rate(SINGLE_ENTRIES, single),
                 rate(hashed, limit), ""])  # fmt: skip
    rows.append([f"append_many, 50,000 per transaction ({label})", rate(BATCH_ENTRIES, batched),
                 rate(hashed, limit), ">= 20,000/s" if label == "SQLite" else ""])  # fmt: skip


def main() -> None:
    random.seed(SEED)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="cogov-bench-ledger-") as directory:
        root = Path(directory)
        sqlite = make_engine(f"sqlite:///{root / 'append.sqlite3'}")
        upgrade(sqlite)
        measure_backend("SQLite", sqlite, rows)
        sqlite.dispose()
        with throwaway_postgres() as postgres:
            if postgres is not None:
                measure_backend("PostgreSQL", postgres, rows)

        # Verify and proofs over a million entries.
        big = make_engine(f"sqlite:///{root / 'verify.sqlite3'}")
        upgrade(big)
        key = load_or_create_key(root / "signing-key.pem")
        build = timed(lambda: _build(big, VERIFY_ENTRIES))
        print(f"built {VERIFY_ENTRIES:,} entries in {build:.1f} s")
        with unit_of_work(big) as session:
            integrate = timed(lambda: make_checkpoint(session, key=key))
        print(f"checkpoint over {VERIFY_ENTRIES:,} entries in {integrate:.1f} s")
        limit, hashed = sha256_limit(big)
        for workers in (1, 2):
            with unit_of_work(big) as session:
                start = time.perf_counter()
                report = verify(session, public_key=key.public_key, workers=workers)
                seconds = time.perf_counter() - start
            assert report.ok, report.problem
            assert report.entries == VERIFY_ENTRIES
            print(f"verify {VERIFY_ENTRIES:,}, {workers} process(es): {seconds:.2f} s "
                  f"(SHA-256 alone {limit:.2f} s)")  # fmt: skip
            rows.append([f"verify {VERIFY_ENTRIES:,} entries, {workers} process(es) (SQLite)",
                         f"{seconds:.2f} s", f"{limit:.2f} s", "<= 3 s"])  # fmt: skip

        seqs = [random.randint(1, VERIFY_ENTRIES) for _ in range(PROOFS)]
        with unit_of_work(big) as session:
            start = time.perf_counter()
            proofs = [inclusion_proof(session, seq) for seq in seqs]
            make = (time.perf_counter() - start) / PROOFS
        start = time.perf_counter()
        for proof in proofs:
            assert verify_inclusion(
                proof.entry_hash, proof.leaf_index, proof.tree_size, proof.path, proof.root
            )
        check = (time.perf_counter() - start) / PROOFS
        one_hash = limit / hashed
        print(f"inclusion proof: make {make * 1e3:.3f} ms, check {check * 1e3:.3f} ms")
        per_hash = f"{one_hash * 1e3:.4f} ms per hash"
        rows.append([f"inclusion proof at {VERIFY_ENTRIES:,}: make (SQLite)",
                     f"{make * 1e3:.3f} ms", per_hash, "<= 1 ms"])  # fmt: skip
        twenty = f"{20 * one_hash * 1e3:.4f} ms"
        rows.append(["inclusion proof: check (pure verifier, 20 hashes)",
                     f"{check * 1e3:.3f} ms", twenty, "<= 1 ms"])  # fmt: skip
        big.dispose()

    body = (
        "Ledger throughput beside the physical limit: hashlib SHA-256 over the same bytes "
        "(each entry's `0x00 || entry_bytes`), measured in the same run. Verify recomputes "
        "every entry hash and prev_hash link, the Merkle root at the signed checkpoint, "
        "and checks its Ed25519 signature.\n\n"
        + table(["what", "cogov", "SHA-256 alone (peer)", "target"], rows)
    )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    body += f"\n\nLoad average at the end of the run: {load} (on {os.cpu_count()} cores)."
    write_section("ledger", body)
    print("wrote the ledger section of docs/benchmarks.md")


def _build(engine: Engine, count: int, batch: int = 100_000) -> None:
    for start in range(0, count, batch):
        with unit_of_work(engine) as session:
            # A big page cache for this connection: the unique hash indexes take
            # random inserts, which thrash SQLite's default 2 MB cache.
            session.execute(text("PRAGMA cache_size = -262144"))
            append_many(session, drafts(min(batch, count - start), offset=start))


if __name__ == "__main__":
    main()

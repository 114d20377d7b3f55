"""Concurrent writers never fork the chain or leave a gap: 8 threads, each with its
own connection and transactions, append (and stage entries chained at commit) while a
ninth makes checkpoints. These
tests commit, so each runs in a database of its own."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cogov.db.session import unit_of_work
from cogov.ledger import (
    EntryDraft,
    LedgerEntry,
    append,
    append_draft,
    append_many,
    make_checkpoint,
    stage,
    verify,
)
from cogov.ledger.keys import LedgerKey
from tests.ledger.conftest import own_database

WRITERS = 8
TRANSACTIONS = 12


def write(
    engine: Engine, writer: int, start: threading.Barrier, failures: list[BaseException]
) -> None:
    try:
        start.wait()
        for number in range(TRANSACTIONS):
            with unit_of_work(engine) as session:
                if number % 3 == 2:
                    append_many(
                        session,
                        [EntryDraft(kind="load.batch", actor=f"agent:w{writer}", payload={"i": i})
                         for i in range(5)],
                    )  # fmt: skip
                else:
                    for step in range(3):
                        entry = EntryDraft(
                            kind="load.step",
                            actor=f"agent:w{writer}",
                            case_id=f"w{writer}-{number}",
                            payload={"step": step},
                        )
                        if number % 3 == 1 and step != 1:
                            stage(session, entry)  # chained at commit (PostgreSQL)
                        else:
                            append_draft(session, entry)
    except BaseException as exc:
        failures.append(exc)


def checkpoint_while_writing(
    engine: Engine, key: LedgerKey, stop: threading.Event, failures: list[BaseException]
) -> None:
    try:
        while not stop.is_set():
            with unit_of_work(engine) as session:
                make_checkpoint(session, key=key)
            stop.wait(0.01)
    except BaseException as exc:
        failures.append(exc)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_writers_leave_one_unbroken_chain(
    backend: str, tmp_path: Path, ledger_key: LedgerKey
) -> None:
    for engine in own_database(backend, tmp_path):
        failures: list[BaseException] = []
        start, stop = threading.Barrier(WRITERS), threading.Event()
        writers = [
            threading.Thread(target=write, args=(engine, number, start, failures))
            for number in range(WRITERS)
        ]
        checkpointer = threading.Thread(
            target=checkpoint_while_writing, args=(engine, ledger_key, stop, failures)
        )
        checkpointer.start()
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join(timeout=120)
        stop.set()
        checkpointer.join(timeout=60)
        assert failures == []

        expected = WRITERS * TRANSACTIONS * 3 + WRITERS * (TRANSACTIONS // 3) * 2
        with Session(engine) as session:
            make_checkpoint(session, key=ledger_key)
            session.commit()
            seqs = session.scalars(select(LedgerEntry.seq).order_by(LedgerEntry.seq)).all()
            assert seqs == list(range(1, expected + 1))  # no gap, no duplicate
            report = verify(session, public_key=ledger_key.public_key)
            assert report.ok, report.problem
            assert report.entries == expected
            assert report.checkpoint_size == expected
            assert report.checkpoints >= 2


def append_one(engine: Engine, appended: list[LedgerEntry], failures: list[BaseException]) -> None:
    try:
        with unit_of_work(engine) as session:
            appended.append(append(session, kind="load.step", actor="agent:waiter", payload={}))
    except BaseException as exc:
        failures.append(exc)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_writer_that_waited_for_the_lock_chains_onto_the_entry_it_waited_for(
    backend: str, tmp_path: Path
) -> None:
    """The lock and the tail are read in one round trip on PostgreSQL; the tail must
    still come from after the wait (a snapshot from before it would fork the chain)."""
    for engine in own_database(backend, tmp_path):
        with unit_of_work(engine) as session:
            append(session, kind="load.step", actor="agent:first", payload={"step": 0})
        holder = Session(engine)
        held = append(holder, kind="load.step", actor="agent:holder", payload={"step": 1})
        appended: list[LedgerEntry] = []
        failures: list[BaseException] = []
        waiter = threading.Thread(target=append_one, args=(engine, appended, failures))
        waiter.start()
        waiter.join(timeout=0.5)
        assert waiter.is_alive()  # it waits for the holder's lock
        holder.commit()
        holder.close()
        waiter.join(timeout=60)
        assert failures == []
        [entry] = appended
        assert (entry.seq, entry.prev_hash) == (held.seq + 1, held.entry_hash)

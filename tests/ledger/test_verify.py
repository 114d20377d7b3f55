"""verify names the first bad sequence number and what is wrong, for every kind of
tampering, on SQLite and PostgreSQL. Each test tampers the way an attacker with
database access would: drop the append-only triggers, then edit rows."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from cogov.core.clock import FixedClock
from cogov.ledger import (
    EntryDraft,
    Responsible,
    append,
    append_many,
    make_checkpoint,
    verify,
)
from cogov.ledger.keys import LedgerKey
from cogov.ledger.note import sign_checkpoint
from cogov.ledger.rules import leaf_input
from tests.ledger.conftest import drop_append_only_triggers

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def fill(session: Session, count: int, *, first: int = 0) -> None:
    clock = FixedClock(START + timedelta(minutes=first))
    for number in range(first, first + count):
        append(
            session,
            kind="proposal.made",
            actor="agent:router@3",
            case_id=f"case-{number % 4}",
            payload={"n": number, "department": "roads", "note": '路面 "pothole"'},
            responsible=Responsible(developer="router@3#abc", guardian="user:7"),
            clock=clock,
        )
        clock.advance(timedelta(seconds=1))


def run(session: Session, sql: str, **params: Any) -> None:
    session.execute(text(sql), params)


def check(session: Session, key: LedgerKey, code: str, seq: int | None) -> str:
    report = verify(session, public_key=key.public_key)
    assert not report.ok
    assert report.problem is not None
    assert (report.problem.code, report.problem.seq) == (code, seq), report.problem
    return report.problem.message


class TestIntactLedger:
    def test_empty_ledger_verifies(self, ledger_session: Session, ledger_key: LedgerKey) -> None:
        report = verify(ledger_session, public_key=ledger_key.public_key)
        assert report.ok
        assert report.entries == 0

    def test_chain_hashes_and_checkpoints_agree(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        fill(ledger_session, 13)
        make_checkpoint(ledger_session, key=ledger_key)
        fill(ledger_session, 20, first=13)
        latest = make_checkpoint(ledger_session, key=ledger_key)
        fill(ledger_session, 3, first=33)  # not yet under a checkpoint: chain-checked only
        report = verify(ledger_session, public_key=ledger_key.public_key)
        assert report.ok, report.problem
        assert (report.entries, report.checkpoints, report.checkpoint_size) == (36, 2, 33)
        assert report.checkpoint_root == latest.root_hex

    def test_without_the_public_key_checkpoints_cannot_be_trusted(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        fill(ledger_session, 3)
        make_checkpoint(ledger_session, key=ledger_key)
        report = verify(ledger_session, public_key=None)
        assert report.problem is not None
        assert report.problem.code == "no_public_key"


class TestVerifyDetectsTampering:
    @pytest.fixture(autouse=True)
    def _ledger(self, ledger_session: Session, ledger_key: LedgerKey) -> None:
        fill(ledger_session, 10)
        make_checkpoint(ledger_session, key=ledger_key)
        fill(ledger_session, 2, first=10)
        drop_append_only_triggers(ledger_session)

    def test_changed_payload(self, ledger_session: Session, ledger_key: LedgerKey) -> None:
        run(ledger_session, "UPDATE ledger_entries SET payload = :p WHERE seq = 5", p='{"n":999}')
        message = check(ledger_session, ledger_key, "content_changed", 5)
        assert "entry 5's content was changed" in message

    def test_changed_payload_of_the_last_entry(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        run(ledger_session, "UPDATE ledger_entries SET actor = 'agent:evil@1' WHERE seq = 12")
        check(ledger_session, ledger_key, "content_changed", 12)

    def test_changed_hash(self, ledger_session: Session, ledger_key: LedgerKey) -> None:
        run(ledger_session, f"UPDATE ledger_entries SET entry_hash = '{'ab' * 32}' WHERE seq = 4")
        message = check(ledger_session, ledger_key, "hash_changed", 4)
        assert "stored entry_hash was changed" in message

    def test_changed_prev_hash(self, ledger_session: Session, ledger_key: LedgerKey) -> None:
        run(ledger_session, f"UPDATE ledger_entries SET prev_hash = '{'cd' * 32}' WHERE seq = 7")
        check(ledger_session, ledger_key, "broken_link", 7)

    def test_deleted_entry(self, ledger_session: Session, ledger_key: LedgerKey) -> None:
        run(ledger_session, "DELETE FROM ledger_entries WHERE seq = 6")
        message = check(ledger_session, ledger_key, "missing", 6)
        assert "jumps from 5 to 7" in message

    def test_deleted_first_entry(self, ledger_session: Session, ledger_key: LedgerKey) -> None:
        run(ledger_session, "DELETE FROM ledger_entries WHERE seq = 1")
        check(ledger_session, ledger_key, "missing", 1)

    def test_two_swapped_entries(self, ledger_session: Session, ledger_key: LedgerKey) -> None:
        run(ledger_session, "UPDATE ledger_entries SET seq = 1000 WHERE seq = 9")
        run(ledger_session, "UPDATE ledger_entries SET seq = 9 WHERE seq = 8")
        run(ledger_session, "UPDATE ledger_entries SET seq = 8 WHERE seq = 1000")
        message = check(ledger_session, ledger_key, "reordered", 8)
        assert "entries 8 and 9 were swapped" in message

    def test_truncated_tail_after_a_checkpoint(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        run(ledger_session, "DELETE FROM ledger_entries WHERE seq > 7")
        message = check(ledger_session, ledger_key, "truncated", 8)
        assert "checkpoint 1 covers 10 entries but the ledger ends at seq 7" in message

    def test_forged_checkpoint_signature(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        forger = Ed25519PrivateKey.generate()
        row = ledger_session.execute(
            text("SELECT tree_size, root_hash, recorded_at FROM ledger_checkpoints")
        ).one()
        forged = sign_checkpoint(
            forger,
            origin=ledger_key.origin,
            size=row.tree_size,
            root=bytes.fromhex(row.root_hash),
            time=row.recorded_at,
        )
        run(ledger_session, "UPDATE ledger_checkpoints SET note = :note", note=forged.note)
        report = verify(ledger_session, public_key=ledger_key.public_key)
        assert report.problem is not None
        assert (report.problem.code, report.problem.checkpoint) == ("checkpoint_signature", 1)
        assert "no signature by this public key" in report.problem.message

    def test_checkpoint_columns_edited_away_from_the_signed_note(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        run(ledger_session, "UPDATE ledger_checkpoints SET tree_size = 12")
        report = verify(ledger_session, public_key=ledger_key.public_key)
        assert report.problem is not None
        assert report.problem.code == "checkpoint_columns"

    def test_rewritten_and_rechained_history(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        # The strongest attack on a plain hash chain: change entry 3 and recompute
        # every later hash. The chain verifies; the signed Merkle root does not.
        rows = ledger_session.execute(
            text(
                "SELECT seq, recorded_at, kind, case_id, actor, responsible, payload "
                "FROM ledger_entries WHERE seq >= 3 ORDER BY seq"
            )
        ).all()
        previous = ledger_session.execute(
            text("SELECT entry_hash FROM ledger_entries WHERE seq = 2")
        ).scalar_one()
        for row in rows:
            payload = '{"n":-1}' if row.seq == 3 else row.payload
            fields = (*row[:6], payload, previous)
            digest = hashlib.sha256(leaf_input(*fields)).hexdigest()
            run(
                ledger_session,
                "UPDATE ledger_entries SET payload = :p, prev_hash = :prev, entry_hash = :h "
                "WHERE seq = :seq",
                p=payload,
                prev=previous,
                h=digest,
                seq=row.seq,
            )
            previous = digest
        message = check(ledger_session, ledger_key, "root_mismatch", 3)
        assert "no longer hash to the root signed in checkpoint 1" in message


class TestUnreadableRows:
    def test_invalid_utf8_written_into_sqlite(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        if ledger_session.get_bind().dialect.name != "sqlite":
            pytest.skip("PostgreSQL refuses invalid UTF-8 in text columns itself")
        fill(ledger_session, 5)
        drop_append_only_triggers(ledger_session)
        run(ledger_session, "UPDATE ledger_entries SET kind = CAST(X'C328' AS TEXT) WHERE seq = 4")
        check(ledger_session, ledger_key, "unreadable", 4)


COLUMNS = (
    "seq",
    "recorded_at",
    "kind",
    "case_id",
    "actor",
    "responsible",
    "payload",
    "prev_hash",
    "entry_hash",
)


class TestAnySingleByteChangeIsDetected:
    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(data=st.data())
    def test_property(
        self, ledger_engine: Engine, ledger_key: LedgerKey, data: st.DataObject
    ) -> None:
        # A fresh session and outer transaction per example: nothing (identity map,
        # cached tail) carries over, so every example starts from the same state.
        connection = ledger_engine.connect()
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            self._one_example(session, ledger_key, data)
        finally:
            session.close()
            transaction.rollback()
            connection.close()

    def _one_example(self, session: Session, key: LedgerKey, data: st.DataObject) -> None:
        drafts = [
            EntryDraft(
                kind="case.received",
                actor="system:intake",
                case_id=f"c{number}" if number != 3 else None,
                payload={"n": number, "text": "été ½"},
            )
            for number in range(6)
        ]
        append_many(session, drafts, clock=FixedClock(START))
        make_checkpoint(session, key=key, clock=FixedClock(START))
        append_many(session, drafts[:2], clock=FixedClock(START + timedelta(hours=1)))
        drop_append_only_triggers(session)
        sqlite = session.get_bind().dialect.name == "sqlite"

        seq = data.draw(st.integers(min_value=1, max_value=8), label="seq")
        column = data.draw(st.sampled_from(COLUMNS), label="column")
        value = session.execute(
            text(f"SELECT {column} FROM ledger_entries WHERE seq = :seq"), {"seq": seq}
        ).scalar_one()
        assume(value is not None)
        raw = str(value).encode()
        position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1), label="at")
        # PostgreSQL text holds neither NUL nor invalid UTF-8: change ASCII to ASCII there.
        lowest, highest = (0, 255) if sqlite else (1, 127)
        if not sqlite:
            assume(raw[position] < 128)
        byte = data.draw(
            st.integers(min_value=lowest, max_value=highest).filter(lambda b: b != raw[position]),
            label="byte",
        )
        changed = raw[:position] + bytes([byte]) + raw[position + 1 :]
        where = {"seq": seq}
        if column == "seq":
            assume(changed.isdigit())
            new_seq = int(changed)
            taken = session.execute(
                text("SELECT count(*) FROM ledger_entries WHERE seq = :s"), {"s": new_seq}
            ).scalar_one()
            assume(taken == 0)
            session.execute(text("UPDATE ledger_entries SET seq = :v WHERE seq = :seq"),
                            {"v": new_seq, **where})  # fmt: skip
            expected = {seq, min(seq, new_seq)}
        else:
            try:
                new_value: Any = changed.decode()
                cast = ":v"
            except UnicodeDecodeError:
                new_value, cast = changed, "CAST(:v AS TEXT)"
            session.execute(
                text(f"UPDATE ledger_entries SET {column} = {cast} WHERE seq = :seq"),
                {"v": new_value, **where},
            )
            expected = {seq}
        report = verify(session, public_key=key.public_key)
        assert not report.ok, (column, seq, raw, changed)
        assert report.problem is not None
        assert report.problem.seq in expected, (column, seq, report.problem)

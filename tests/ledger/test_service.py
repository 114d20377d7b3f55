"""Use cases of the ledger: batched append, checkpoints, proofs and the case trail."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cogov.core.clock import FixedClock
from cogov.core.settings import load_settings
from cogov.ledger import (
    EntryDraft,
    LedgerEntry,
    Responsible,
    append,
    append_many,
    consistency_proof,
    entries_for_case,
    inclusion_proof,
    latest_checkpoint,
    make_checkpoint,
    public_key_pem,
    verify,
)
from cogov.ledger.errors import (
    InvalidEntry,
    NoCheckpoint,
    NoSuchEntry,
    PersonalDataInPayload,
)
from cogov.ledger.keys import LedgerKey
from cogov.ledger.merkle import leaf_hash
from cogov.ledger.models import LedgerCheckpoint
from cogov.ledger.proofs import BundleInvalid, verify_bundle, verify_consistency, verify_inclusion
from cogov.ledger.rules import entry_hash

START = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def drafts(count: int, *, case: str = "c") -> list[EntryDraft]:
    return [
        EntryDraft(
            kind="proposal.made",
            actor="agent:router@3",
            case_id=f"{case}{number % 3}",
            payload={"n": number},
            responsible=Responsible(developer="router@3", guardian="user:9"),
        )
        for number in range(count)
    ]


class TestAppendMany:
    def test_chains_on_from_single_appends_with_the_same_hashing(
        self, ledger_session: Session
    ) -> None:
        clock = FixedClock(START)
        single = append(ledger_session, kind="case.received", actor="system:intake", clock=clock)
        written = append_many(ledger_session, drafts(50), clock=clock)
        assert (written.first_seq, written.last_seq, written.count) == (2, 51, 50)
        rows = ledger_session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()
        assert rows[1].prev_hash == single.entry_hash
        for row in rows:
            assert row.entry_hash == entry_hash(
                seq=row.seq,
                recorded_at=row.recorded_at,
                kind=row.kind,
                case_id=row.case_id,
                actor=row.actor,
                responsible=row.responsible,
                payload=row.payload,
                prev_hash=row.prev_hash,
            )
        assert rows[-1].entry_hash == written.head_hash
        after = append(ledger_session, kind="case.closed", actor="user:4", clock=clock)
        assert (after.seq, after.prev_hash) == (52, written.head_hash)

    @pytest.mark.parametrize(
        ("bad", "message"),
        [
            (EntryDraft(kind="Bad Kind", actor="user:1"), r"entries\[2\]\.kind"),
            (EntryDraft(kind="a.b", actor="nobody"), r"entries\[2\]\.actor"),
            (EntryDraft(kind="a.b", actor="user:1", case_id='x"y'), r"entries\[2\]\.case_id"),
            (
                EntryDraft(kind="a.b", actor="user:1", payload={"v": float("inf")}),
                r"entries\[2\]\.payload",
            ),
        ],
    )
    def test_a_bad_entry_is_named_and_nothing_is_written(
        self, ledger_session: Session, bad: EntryDraft, message: str
    ) -> None:
        batch = [*drafts(2), bad, *drafts(2)]
        with pytest.raises(InvalidEntry, match=message):
            append_many(ledger_session, batch)
        assert ledger_session.scalar(select(func.count()).select_from(LedgerEntry)) == 0

    def test_personal_data_is_refused_with_its_position(self, ledger_session: Session) -> None:
        bad = EntryDraft(kind="a.b", actor="user:1", payload={"who": {"Phone": "555"}})
        with pytest.raises(PersonalDataInPayload, match=r"entries\[1\]\.payload\.who\.Phone"):
            append_many(ledger_session, [*drafts(1), bad])

    def test_empty_batch_writes_nothing(self, ledger_session: Session) -> None:
        written = append_many(ledger_session, [])
        assert written.count == 0


class TestCheckpoints:
    def test_signs_the_tree_of_all_entries_so_far(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        append_many(ledger_session, drafts(21))
        made = make_checkpoint(ledger_session, key=ledger_key, clock=FixedClock(START))
        assert (made.size, made.origin, made.time) == (
            21,
            ledger_key.origin,
            "2026-05-01T08:00:00.000000Z",
        )
        assert made.note.startswith(f"{ledger_key.origin}\n21\n")
        assert latest_checkpoint(ledger_session) == made

    def test_nothing_new_means_no_new_checkpoint(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        append_many(ledger_session, drafts(3))
        first = make_checkpoint(ledger_session, key=ledger_key)
        assert make_checkpoint(ledger_session, key=ledger_key) == first
        count = ledger_session.scalar(select(func.count()).select_from(LedgerCheckpoint))
        assert count == 1

    def test_successive_checkpoints_are_consistent(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        sizes = [1, 2, 5, 8, 13, 40, 41]
        made = []
        for size in sizes:
            append_many(ledger_session, drafts(size - (made[-1].size if made else 0)))
            made.append(make_checkpoint(ledger_session, key=ledger_key))
        for old, new in itertools.pairwise(made):
            proof = consistency_proof(ledger_session, old.size, new.size)
            assert verify_consistency(old.size, new.size, old.root, new.root, proof.path)
        assert verify(ledger_session, public_key=ledger_key.public_key).ok

    def test_public_key_is_created_in_the_data_dir(self, tmp_path: object) -> None:
        settings = load_settings(data_dir=tmp_path)
        pem = public_key_pem(settings)
        assert pem.startswith("-----BEGIN PUBLIC KEY-----")
        assert settings.resolved_ledger_key_file.exists()
        assert public_key_pem(settings) == pem


class TestInclusionProofs:
    def test_every_entry_proves_into_every_checkpoint_after_it(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        append_many(ledger_session, drafts(11))
        small = make_checkpoint(ledger_session, key=ledger_key)
        append_many(ledger_session, drafts(26))
        big = make_checkpoint(ledger_session, key=ledger_key)
        for checkpoint in (small, big):
            for seq in range(1, checkpoint.size + 1):
                proof = inclusion_proof(ledger_session, seq, checkpoint.size)
                assert proof.checkpoint == checkpoint
                assert verify_inclusion(
                    proof.entry_hash, seq - 1, checkpoint.size, proof.path, checkpoint.root
                )

    def test_a_size_past_the_last_checkpoint_is_computed_from_the_entries(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        append_many(ledger_session, drafts(9))
        make_checkpoint(ledger_session, key=ledger_key)
        append_many(ledger_session, drafts(6))
        proof = inclusion_proof(ledger_session, 4, 15)
        assert proof.checkpoint is None
        later = make_checkpoint(ledger_session, key=ledger_key)
        assert proof.root == later.root

    def test_the_bundle_verifies_with_only_the_public_key(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        append_many(ledger_session, drafts(30))
        make_checkpoint(ledger_session, key=ledger_key)
        bundle = inclusion_proof(ledger_session, 17).bundle(
            public_key_pem=ledger_key.public_key_pem, verifier_key=ledger_key.verifier_key
        )
        assert bundle["entry"][1] == 17
        assert verify_bundle(bundle, ledger_key.public_key_pem).startswith("entry 17 is in")
        tampered = dict(bundle, entry_bytes=bundle["entry_bytes"].replace('"n":', '"m":'))
        with pytest.raises(BundleInvalid, match="not the leaf hash"):
            verify_bundle(tampered, ledger_key.public_key_pem)
        rehashed = dict(tampered, entry_hash=leaf_hash(tampered["entry_bytes"].encode()).hex())
        with pytest.raises(BundleInvalid, match="entry 17 is not included"):
            verify_bundle(rehashed, ledger_key.public_key_pem)
        other = LedgerKey(Ed25519PrivateKey.generate(), ledger_key.origin).public_key_pem
        with pytest.raises(BundleInvalid, match="checkpoint"):
            verify_bundle(bundle, other)

    @pytest.mark.parametrize(
        ("key", "value"),
        [("seq", 18), ("leaf_index", 7), ("tree_size", 29), ("entry", [1, 18])],
    )
    def test_a_bundle_whose_readable_fields_disagree_with_the_proof_is_refused(
        self, ledger_session: Session, ledger_key: LedgerKey, key: str, value: object
    ) -> None:
        append_many(ledger_session, drafts(30))
        make_checkpoint(ledger_session, key=ledger_key)
        bundle = inclusion_proof(ledger_session, 17).bundle(
            public_key_pem=ledger_key.public_key_pem, verifier_key=ledger_key.verifier_key
        )
        with pytest.raises(BundleInvalid, match=f"{key} says"):
            verify_bundle(dict(bundle, **{key: value}), ledger_key.public_key_pem)

    def test_needs_a_checkpoint_or_a_size(self, ledger_session: Session) -> None:
        append_many(ledger_session, drafts(2))
        with pytest.raises(NoCheckpoint):
            inclusion_proof(ledger_session, 1)
        assert inclusion_proof(ledger_session, 1, 2).checkpoint is None

    @pytest.mark.parametrize(
        ("seq", "size", "field"), [(0, 3, "seq"), (4, 3, "seq"), (1, 9, "size")]
    )
    def test_out_of_range_is_refused_naming_the_field(
        self, ledger_session: Session, seq: int, size: int, field: str
    ) -> None:
        append_many(ledger_session, drafts(5))
        with pytest.raises(NoSuchEntry) as caught:
            inclusion_proof(ledger_session, seq, size)
        assert caught.value.field == field


class TestConsistencyProofs:
    def test_bundle_between_two_checkpoints_verifies(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        append_many(ledger_session, drafts(6))
        make_checkpoint(ledger_session, key=ledger_key)
        append_many(ledger_session, drafts(19))
        make_checkpoint(ledger_session, key=ledger_key)
        bundle = consistency_proof(ledger_session, 6).bundle(
            public_key_pem=ledger_key.public_key_pem, verifier_key=ledger_key.verifier_key
        )
        assert verify_bundle(bundle, ledger_key.public_key_pem).endswith(
            "tree size 6 is a prefix of tree size 25"
        )

    def test_old_size_past_new_size_is_refused(
        self, ledger_session: Session, ledger_key: LedgerKey
    ) -> None:
        append_many(ledger_session, drafts(4))
        with pytest.raises(NoSuchEntry, match="old_size"):
            consistency_proof(ledger_session, 4, 3)


class TestEntriesForCase:
    def test_the_trail_of_one_case_in_order_with_parsed_fields(
        self, ledger_session: Session
    ) -> None:
        clock = FixedClock(START)
        append_many(ledger_session, drafts(7, case="k"), clock=clock)
        clock.advance(timedelta(minutes=1))
        append(ledger_session, kind="review.decided", actor="user:9", case_id="k1",
               payload={"decision": "approve"}, clock=clock)  # fmt: skip
        trail = entries_for_case(ledger_session, "k1")
        assert [entry.seq for entry in trail] == [2, 5, 8]
        assert trail[0].responsible == {"developer": "router@3", "guardian": "user:9"}
        assert trail[-1].payload == {"decision": "approve"}
        assert entries_for_case(ledger_session, "nothing") == []

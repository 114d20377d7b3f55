"""Checkpoints are C2SP signed notes that existing tooling reads."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cogov.ledger.errors import SigningKeyUnusable
from cogov.ledger.keys import load_or_create_key
from cogov.ledger.note import (
    CheckpointError,
    parse_public_key_pem,
    public_key_pem_text,
    sign_checkpoint,
    sign_note,
    verifier_key,
    verify_checkpoint,
    verify_note,
)

# The example of golang.org/x/mod/sumdb/note (the signed-note reference implementation).
GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1F"
    "FYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
TIME = "2026-11-26T10:00:00.000000Z"


class TestSignedNote:
    def test_matches_the_go_reference_implementation_byte_for_byte(self) -> None:
        key = Ed25519PrivateKey.from_private_bytes(GO_SEED)
        assert verifier_key("PeterNeumann", key.public_key()) == (
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        )
        assert sign_note(key, "PeterNeumann", GO_TEXT) == GO_NOTE
        assert verify_note(GO_NOTE, key.public_key())[:2] == (GO_TEXT, "PeterNeumann")

    def test_another_key_or_a_changed_text_is_refused(self) -> None:
        key = Ed25519PrivateKey.from_private_bytes(GO_SEED)
        with pytest.raises(CheckpointError, match="no signature by this public key"):
            verify_note(GO_NOTE, Ed25519PrivateKey.generate().public_key())
        with pytest.raises(CheckpointError, match="does not verify"):
            verify_note(GO_NOTE.replace("answer", "Answer"), key.public_key())


class TestCheckpoint:
    def test_round_trip_in_the_tlog_checkpoint_layout(self) -> None:
        key = Ed25519PrivateKey.generate()
        made = sign_checkpoint(
            key, origin="city.example/311", size=12, root=b"\x07" * 32, time=TIME
        )
        lines = made.note.split("\n")
        assert lines[:4] == ["city.example/311", "12", base64.b64encode(b"\x07" * 32).decode(),
                             f"time {TIME}"]  # fmt: skip
        assert lines[4] == ""
        assert lines[5].startswith("— city.example/311 ")
        checked = verify_checkpoint(made.note, key.public_key())
        assert (checked.origin, checked.size, checked.root, checked.time) == (
            "city.example/311",
            12,
            b"\x07" * 32,
            TIME,
        )

    @pytest.mark.parametrize(
        ("old", "new"),
        [("\n12\n", "\n13\n"), (f"time {TIME}", "time 2026-11-26T10:00:01.000000Z")],
    )
    def test_any_change_breaks_the_signature(self, old: str, new: str) -> None:
        key = Ed25519PrivateKey.generate()
        made = sign_checkpoint(key, origin="o", size=12, root=b"\x01" * 32, time=TIME)
        with pytest.raises(CheckpointError, match="does not verify"):
            verify_checkpoint(made.note.replace(old, new), key.public_key())

    def test_a_note_signed_under_another_name_is_not_the_logs_checkpoint(self) -> None:
        key = Ed25519PrivateKey.generate()
        body = f"log-a\n1\n{base64.b64encode(b'x' * 32).decode()}\n"
        with pytest.raises(CheckpointError, match="not by the log's own key"):
            verify_checkpoint(sign_note(key, "log-b", body), key.public_key())

    @pytest.mark.parametrize(
        "note",
        ["", "o\n1\nAAAA\n\n— o AAAA\n", "o\n01\n" + "A" * 44 + "\n\n— o x\n", "no blank line\n"],
    )
    def test_malformed_notes_are_refused(self, note: str) -> None:
        with pytest.raises(CheckpointError):
            verify_checkpoint(note, Ed25519PrivateKey.generate().public_key())


class TestSigningKey:
    def test_created_on_first_use_with_mode_0600_and_reloaded(self, tmp_path: Path) -> None:
        path = tmp_path / "ledger" / "signing-key.pem"
        first = load_or_create_key(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        again = load_or_create_key(path)
        assert again.public_key_pem == first.public_key_pem
        assert first.origin.startswith("cogov.ledger/")
        assert parse_public_key_pem(first.public_key_pem) is not None

    def test_refuses_a_key_others_can_read(self, tmp_path: Path) -> None:
        path = tmp_path / "key.pem"
        load_or_create_key(path)
        os.chmod(path, 0o644)
        with pytest.raises(SigningKeyUnusable, match="too open"):
            load_or_create_key(path)

    def test_refuses_a_file_that_is_not_a_key(self, tmp_path: Path) -> None:
        path = tmp_path / "key.pem"
        path.write_text("hello")
        os.chmod(path, 0o600)
        with pytest.raises(SigningKeyUnusable, match="not an unencrypted PEM"):
            load_or_create_key(path)

    def test_absent_key_is_not_created_when_asked_not_to(self, tmp_path: Path) -> None:
        with pytest.raises(SigningKeyUnusable, match="no such file"):
            load_or_create_key(tmp_path / "none.pem", create=False)

    def test_public_key_pem_is_a_spki_block(self) -> None:
        text = public_key_pem_text(Ed25519PrivateKey.generate().public_key())
        assert text.startswith("-----BEGIN PUBLIC KEY-----")

"""The contact vault encrypted at rest: sealing, tamper and wrong-key refusal, key
files and settings, rotation and the sealing of plaintext rows from older databases."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cogov.cli.main import app
from cogov.core.settings import load_settings
from cogov.core.types import Role
from cogov.db.engine import make_engine
from cogov.db.session import unit_of_work
from cogov.identity import UserNotFound, add_user
from cogov.intake import (
    IntakeConfig,
    InvalidRequest,
    VaultKeyMissing,
    VaultKeyring,
    VaultKeysInvalid,
    VaultUnreadable,
    contact_for,
    load_catalogue,
    load_group_attributes,
    record_rotation,
    reseal_batch,
    submit,
    vault_status,
)
from cogov.intake.models import CaseContact
from cogov.intake.vault import load_key_file, load_keyring, parse_keys_setting, save_key_file
from cogov.ledger import LedgerEntry
from tests.conftest import BACKENDS, fresh_migrated_database

CATALOGUE = load_catalogue()
GROUPS = load_group_attributes()
FIELDS = {"email": "ada@example.org", "phone": "+1 212 555 0100", "last_name": "Lovelace"}


def config(vault: VaultKeyring | None) -> IntakeConfig:
    return IntakeConfig(catalogue=CATALOGUE, groups=GROUPS, token_key=b"k" * 32, vault=vault)


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "service_code": "pothole",
        "description": "Deep pothole in the bus lane outside number 12",
        "lat": 40.7128,
        "long": -74.006,
        "attribute": {"size": "large"},
        "email": "ada@example.org",
        "phone": "+1 212 555 0100",
        "last_name": "Lovelace",
        **overrides,
    }


def encoded(key: bytes) -> str:
    return base64.b64encode(key).decode()


class TestSealAndOpen:
    def test_round_trip(self) -> None:
        vault = VaultKeyring.generate("k1")
        key_id, sealed = vault.seal("case-a", FIELDS)
        assert key_id == "k1"
        assert b"ada@example.org" not in sealed
        assert vault.open("case-a", key_id, sealed) == FIELDS

    @settings(max_examples=50, deadline=None)
    @given(
        fields=st.dictionaries(
            st.sampled_from(["email", "phone", "first_name", "last_name", "device_id"]),
            st.text(min_size=1, max_size=80),
            min_size=1,
        )
    )
    def test_any_fields_round_trip(self, fields: dict[str, str]) -> None:
        vault = VaultKeyring.generate("k1")
        assert vault.open("c", *vault.seal("c", fields)) == fields

    def test_a_changed_byte_is_refused(self) -> None:
        vault = VaultKeyring.generate("k1")
        key_id, sealed = vault.seal("case-a", FIELDS)
        for position in (0, 12, len(sealed) - 1):
            altered = bytearray(sealed)
            altered[position] ^= 0x01
            with pytest.raises(VaultUnreadable) as caught:
                vault.open("case-a", key_id, bytes(altered))
            assert caught.value.key_id == "k1"
            assert "case-a" in caught.value.message

    def test_a_blob_moved_to_another_case_is_refused(self) -> None:
        vault = VaultKeyring.generate("k1")
        key_id, sealed = vault.seal("case-a", FIELDS)
        with pytest.raises(VaultUnreadable):
            vault.open("case-b", key_id, sealed)

    def test_a_blob_relabelled_with_another_key_id_is_refused(self) -> None:
        vault = VaultKeyring.generate("k1").with_new_key("k2")
        _, sealed = vault.seal("case-a", FIELDS)  # under k2, the current key
        with pytest.raises(VaultUnreadable):
            vault.open("case-a", "k1", sealed)

    def test_a_wrong_key_is_refused_naming_the_key_id(self) -> None:
        key_id, sealed = VaultKeyring.generate("k1").seal("case-a", FIELDS)
        impostor = VaultKeyring.generate("k1")  # same id, other key bytes
        with pytest.raises(VaultUnreadable) as caught:
            impostor.open("case-a", key_id, sealed)
        assert "'k1'" in caught.value.message

    def test_a_missing_key_is_refused_naming_the_key_id(self) -> None:
        key_id, sealed = VaultKeyring.generate("old").seal("case-a", FIELDS)
        with pytest.raises(VaultKeyMissing) as caught:
            VaultKeyring.generate("new").open("case-a", key_id, sealed)
        assert caught.value.key_id == "old"
        assert "'old'" in caught.value.message

    def test_old_keys_still_open_after_a_new_key_becomes_current(self) -> None:
        old = VaultKeyring.generate("k1")
        key_id, sealed = old.seal("case-a", FIELDS)
        rotated = old.with_new_key("k2")
        assert rotated.current == "k2"
        assert rotated.open("case-a", key_id, sealed) == FIELDS
        assert rotated.seal("case-a", FIELDS)[0] == "k2"


class TestKeysSetting:
    def test_first_key_is_current(self) -> None:
        a, b = os.urandom(32), os.urandom(32)
        vault = parse_keys_setting(f"new:{encoded(a)}, old:{encoded(b)}")
        assert vault.current == "new"
        assert vault.keys == {"new": a, "old": b}
        assert vault.source == "setting"

    def test_url_safe_base64_is_accepted(self) -> None:
        key = bytes(range(250, 256)) + os.urandom(26)
        text = base64.urlsafe_b64encode(key).decode()
        assert parse_keys_setting(f"k:{text}").keys["k"] == key

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("", "id:base64key"),
            ("k1", "id:base64key"),
            ("k1:not base64!", "not base64"),
            (f"k1:{encoded(b'short')}", "32 bytes"),
            (f"k1:{encoded(b'x' * 32)},k1:{encoded(b'y' * 32)}", "twice"),
            (f"bad id:{encoded(b'x' * 32)}", "key id"),
        ],
    )
    def test_bad_settings_are_refused_with_the_reason(self, text: str, reason: str) -> None:
        with pytest.raises(VaultKeysInvalid) as caught:
            parse_keys_setting(text)
        assert reason in caught.value.message

    def test_the_setting_overrides_the_key_file(self, tmp_path: Path) -> None:
        key = os.urandom(32)
        settings = load_settings(data_dir=tmp_path, vault_keys=f"env:{encoded(key)}")
        assert load_keyring(settings).keys == {"env": key}
        assert not (tmp_path / "intake" / "vault-keys.json").exists()


class TestKeyFile:
    def test_created_owner_only_on_first_use_then_reloaded(self, tmp_path: Path) -> None:
        settings = load_settings(data_dir=tmp_path)
        first = load_keyring(settings)
        path = tmp_path / "intake" / "vault-keys.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert load_keyring(settings) == first

    def test_a_file_others_can_read_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "vault-keys.json"
        load_key_file(path)
        path.chmod(0o644)
        with pytest.raises(VaultKeysInvalid) as caught:
            load_key_file(path)
        assert "chmod 600" in caught.value.message

    def test_a_file_that_is_not_a_key_file_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "vault-keys.json"
        path.write_text("[]")
        path.chmod(0o600)
        with pytest.raises(VaultKeysInvalid) as caught:
            load_key_file(path)
        assert str(path) in caught.value.message

    def test_a_saved_rotation_keeps_the_old_key(self, tmp_path: Path) -> None:
        path = tmp_path / "vault-keys.json"
        old = load_key_file(path)
        rotated = old.with_new_key()
        save_key_file(path, rotated)
        again = load_key_file(path)
        assert again.current == rotated.current != old.current
        assert again.keys[old.current] == old.keys[old.current]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert json.loads(path.read_text())["current"] == rotated.current


class TestStoredRows:
    def test_submit_seals_and_contact_for_opens(self, db_session: Session) -> None:
        vault = VaultKeyring.generate("k1")
        case = submit(db_session, body(), config=config(vault)).case
        row = db_session.get(CaseContact, case.id)
        assert row is not None
        assert row.sealed is not None
        assert (row.key_id, row.email, row.phone, row.last_name) == ("k1", None, None, None)
        contact = contact_for(db_session, case_id=case.id, vault=vault)
        assert contact is not None
        assert (contact.email, contact.phone, contact.last_name) == (
            "ada@example.org",
            "+1 212 555 0100",
            "Lovelace",
        )

    def test_nothing_decrypted_reaches_the_ledger(self, db_session: Session) -> None:
        vault = VaultKeyring.generate("k1")
        case = submit(db_session, body(), config=config(vault)).case
        contact_for(db_session, case_id=case.id, vault=vault)
        payloads = " ".join(db_session.scalars(select(LedgerEntry.payload)))
        assert "ada@example.org" not in payloads
        assert "Lovelace" not in payloads

    def test_a_tampered_row_is_refused(self, db_session: Session) -> None:
        vault = VaultKeyring.generate("k1")
        case = submit(db_session, body(), config=config(vault)).case
        row = db_session.get(CaseContact, case.id)
        assert row is not None
        assert row.sealed is not None
        altered = bytearray(row.sealed)
        altered[-1] ^= 0xFF
        db_session.execute(
            update(CaseContact).where(CaseContact.case_id == case.id).values(sealed=bytes(altered))
        )
        db_session.expire_all()
        with pytest.raises(VaultUnreadable) as caught:
            contact_for(db_session, case_id=case.id, vault=vault)
        assert caught.value.case_id == case.id

    def test_a_row_moved_to_another_case_is_refused(self, db_session: Session) -> None:
        vault = VaultKeyring.generate("k1")
        first = submit(db_session, body(), config=config(vault)).case
        second = submit(
            db_session, body(email="grace@example.org", last_name="Hopper"), config=config(vault)
        ).case
        source = db_session.get(CaseContact, first.id)
        assert source is not None
        db_session.execute(
            update(CaseContact)
            .where(CaseContact.case_id == second.id)
            .values(sealed=source.sealed, key_id=source.key_id)
        )
        db_session.expire_all()
        with pytest.raises(VaultUnreadable):
            contact_for(db_session, case_id=second.id, vault=vault)

    def test_a_wrong_or_missing_key_is_refused(self, db_session: Session) -> None:
        case = submit(db_session, body(), config=config(VaultKeyring.generate("k1"))).case
        with pytest.raises(VaultUnreadable):
            contact_for(db_session, case_id=case.id, vault=VaultKeyring.generate("k1"))
        with pytest.raises(VaultKeyMissing) as caught:
            contact_for(db_session, case_id=case.id, vault=VaultKeyring.generate("k2"))
        assert caught.value.key_id == "k1"

    def test_without_a_vault_key_contact_details_are_refused(self, db_session: Session) -> None:
        with pytest.raises(VaultKeyMissing):
            submit(db_session, body(), config=config(None))
        plain = body(email=None, phone=None, last_name=None)
        assert submit(db_session, plain, config=config(None)).case.service_code == "pothole"


def _plaintext_row(session: Session, vault: VaultKeyring) -> str:
    """A case whose vault row was written before the vault was encrypted."""
    case = submit(session, body(email=None, phone=None, last_name=None), config=config(vault)).case
    session.add(CaseContact(case_id=case.id, email="old@example.org", first_name="Olde"))
    session.flush()
    return case.id


class TestRotation:
    def test_reseal_moves_every_row_to_the_current_key(self, db_session: Session) -> None:
        old = VaultKeyring.generate("k1")
        ids = [submit(db_session, body(), config=config(old)).case.id for _ in range(5)]
        rotated = old.with_new_key("k2")
        assert vault_status(db_session, vault=rotated).rows_to_reseal >= 5
        while reseal_batch(db_session, vault=rotated, limit=2):
            pass
        status = vault_status(db_session, vault=rotated)
        assert status.rows_to_reseal == 0
        assert status.rows_by_key.get("k1") is None
        only_new = VaultKeyring({"k2": rotated.keys["k2"]}, "k2")
        for case_id in ids:
            contact = contact_for(db_session, case_id=case_id, vault=only_new)
            assert contact is not None
            assert contact.email == "ada@example.org"

    def test_plaintext_rows_are_read_then_sealed(self, db_session: Session) -> None:
        vault = VaultKeyring.generate("k1")
        case_id = _plaintext_row(db_session, vault)
        contact = contact_for(db_session, case_id=case_id, vault=vault)
        assert contact is not None
        assert contact.email == "old@example.org"
        assert vault_status(db_session, vault=vault).plaintext_rows >= 1
        while reseal_batch(db_session, vault=vault, limit=100):
            pass
        row = db_session.get(CaseContact, case_id)
        assert row is not None
        assert (row.key_id, row.email, row.first_name) == ("k1", None, None)
        assert vault_status(db_session, vault=vault).plaintext_rows == 0
        contact = contact_for(db_session, case_id=case_id, vault=vault)
        assert contact is not None
        assert (contact.email, contact.first_name) == ("old@example.org", "Olde")

    def test_a_row_under_a_missing_key_stops_the_rotation(self, db_session: Session) -> None:
        case = submit(db_session, body(), config=config(VaultKeyring.generate("gone"))).case
        with pytest.raises(VaultKeyMissing) as caught:
            reseal_batch(db_session, vault=VaultKeyring.generate("k2"), limit=10)
        assert caught.value.key_id == "gone"
        assert caught.value.case_id == case.id


def vault_entries(session: Session) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, actor, payload) of the key-rotation entries, oldest first."""
    rows = session.execute(
        select(LedgerEntry.kind, LedgerEntry.actor, LedgerEntry.payload)
        .where(LedgerEntry.kind.in_(("vault.resealed", "vault.rotated")))
        .order_by(LedgerEntry.seq)
    )
    return [(kind, actor, json.loads(payload)) for kind, actor, payload in rows]


class TestRotationLedger:
    """Each re-sealed batch is recorded with the batch; a finished rotation once more."""

    def test_each_batch_names_its_rows_per_old_key(self, db_session: Session) -> None:
        old = VaultKeyring.generate("k1")
        for _ in range(3):
            submit(db_session, body(), config=config(old))
        _plaintext_row(db_session, old)
        rotated = old.with_new_key("k2")
        add_user(db_session, username="admin.li", roles=[Role.ADMINISTRATOR])
        first = reseal_batch(db_session, vault=rotated, limit=3, by="admin.li", batch=1)
        second = reseal_batch(db_session, vault=rotated, limit=3, by="admin.li", batch=2)
        assert sum(first.values()) + sum(second.values()) == 4
        assert reseal_batch(db_session, vault=rotated, limit=3, batch=3) == {}
        entries = vault_entries(db_session)
        assert [(kind, actor) for kind, actor, _ in entries] == [
            ("vault.resealed", "user:admin.li"),
            ("vault.resealed", "user:admin.li"),
        ]
        assert [payload["batch"] for _, _, payload in entries] == [1, 2]
        assert {payload["key_id"] for _, _, payload in entries} == {"k2"}
        per_key: dict[str | None, int] = {}
        for _, _, payload in entries:
            assert payload["rows"] == sum(pair["rows"] for pair in payload["rows_by_old_key"])
            for pair in payload["rows_by_old_key"]:
                per_key[pair["key_id"]] = per_key.get(pair["key_id"], 0) + pair["rows"]
        assert per_key == {None: 1, "k1": 3}

    def test_the_operator_named_must_be_a_user(self, db_session: Session) -> None:
        old = VaultKeyring.generate("k1")
        submit(db_session, body(), config=config(old))
        with pytest.raises(UserNotFound):
            reseal_batch(db_session, vault=old.with_new_key("k2"), limit=3, by="ghost", batch=1)
        with pytest.raises(UserNotFound):
            record_rotation(
                db_session, vault=old, resealed={}, batches=0, new_key=False, by="ghost"
            )

    def test_a_finished_rotation_is_recorded_without_key_material(
        self, db_session: Session
    ) -> None:
        old = VaultKeyring.generate("contact")  # a key id the ledger would refuse as a map key
        submit(db_session, body(), config=config(old))
        rotated = old.with_new_key("name")
        resealed = reseal_batch(db_session, vault=rotated, limit=10, batch=1)
        add_user(db_session, username="admin.li", roles=[Role.ADMINISTRATOR])
        record_rotation(
            db_session, vault=rotated, resealed=resealed, batches=1, new_key=True, by="admin.li"
        )
        kind, actor, payload = vault_entries(db_session)[-1]
        assert (kind, actor) == ("vault.rotated", "user:admin.li")
        assert payload == {
            "key_id": "name",
            "new_key": True,
            "batches": 1,
            "rows": 1,
            "rows_by_old_key": [{"key_id": "contact", "rows": 1}],
        }
        texts = " ".join(db_session.scalars(select(LedgerEntry.payload)))
        for key in rotated.keys.values():
            assert base64.b64encode(key).decode() not in texts
            assert base64.urlsafe_b64encode(key).decode().rstrip("=") not in texts
        assert FIELDS["email"] not in texts

    def test_an_unfinished_rotation_is_not_recorded_as_finished(self, db_session: Session) -> None:
        old = VaultKeyring.generate("k1")
        for _ in range(2):
            submit(db_session, body(), config=config(old))
        rotated = old.with_new_key("k2")
        resealed = reseal_batch(db_session, vault=rotated, limit=1, batch=1)
        with pytest.raises(InvalidRequest) as caught:
            record_rotation(db_session, vault=rotated, resealed=resealed, batches=1, new_key=True)
        assert caught.value.problems[0][0] == "vault"
        assert "still to be re-sealed under key 'k2'" in caught.value.problems[0][1]
        assert [kind for kind, _, _ in vault_entries(db_session)] == ["vault.resealed"]

    def test_a_failed_batch_records_nothing(self, db_session: Session) -> None:
        submit(db_session, body(), config=config(VaultKeyring.generate("gone")))
        with pytest.raises(VaultKeyMissing), db_session.begin_nested():
            reseal_batch(db_session, vault=VaultKeyring.generate("k2"), limit=10, batch=1)
        assert vault_entries(db_session) == []

    def test_a_batch_number_below_one_is_refused(self, db_session: Session) -> None:
        with pytest.raises(InvalidRequest) as caught:
            reseal_batch(db_session, vault=VaultKeyring.generate("k1"), batch=0)
        assert list(caught.value.problems) == [("batch", "must be at least 1")]


runner = CliRunner()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of each backend for one command test."""
    with fresh_migrated_database(request.param, tmp_path) as (url, _engine):
        yield url


class TestVaultCommand:
    """`cogov vault rotate` and `status` on a database holding a plaintext row (an
    older database) and a row sealed under the old key."""

    def test_rotate_with_a_new_key(
        self, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("COGOV_DATABASE_URL", database_url)
        monkeypatch.delenv("COGOV_VAULT_KEYS", raising=False)
        data_dir = tmp_path / "data"
        old = load_keyring(load_settings(data_dir=data_dir))
        engine = make_engine(database_url)
        try:
            with unit_of_work(engine) as session:
                sealed_id = submit(session, body(), config=config(old)).case.id
                plain_id = _plaintext_row(session, old)
            result = runner.invoke(
                app,
                ["vault", "rotate", "--new-key", "--batch-size", "1", "--data-dir", str(data_dir)],
            )
            assert result.exit_code == 0, result.output
            assert "re-sealed 2 rows" in result.output
            rotated = load_keyring(load_settings(data_dir=data_dir))
            assert rotated.current != old.current
            assert old.current in rotated.keys
            with unit_of_work(engine) as session:
                for case_id in (sealed_id, plain_id):
                    row = session.get(CaseContact, case_id)
                    assert row is not None
                    assert row.key_id == rotated.current
                    assert row.email is None
                    assert contact_for(session, case_id=case_id, vault=rotated) is not None
            status = runner.invoke(app, ["vault", "status", "--json", "--data-dir", str(data_dir)])
            assert status.exit_code == 0, status.output
            assert json.loads(status.output)["rows_to_reseal"] == 0
            with unit_of_work(engine) as session:
                entries = vault_entries(session)
            assert [kind for kind, _, _ in entries] == ["vault.resealed"] * 2 + ["vault.rotated"]
            assert {actor for _, actor, _ in entries} == {"system:vault"}
            assert entries[-1][2] == {
                "key_id": rotated.current,
                "new_key": True,
                "batches": 2,
                "rows": 2,
                "rows_by_old_key": [
                    {"key_id": None, "rows": 1},
                    {"key_id": old.current, "rows": 1},
                ],
            }
            with unit_of_work(engine) as session:
                add_user(session, username="admin.li", roles=[Role.ADMINISTRATOR])
            again = runner.invoke(
                app, ["vault", "rotate", "--by", "admin.li", "--data-dir", str(data_dir)]
            )
            assert again.exit_code == 0, again.output
            with unit_of_work(engine) as session:
                kind, actor, payload = vault_entries(session)[-1]
            assert (kind, actor, payload["batches"], payload["new_key"]) == (
                "vault.rotated",
                "user:admin.li",
                0,
                False,
            )
        finally:
            engine.dispose()

    def test_an_unknown_operator_is_refused_before_a_new_key_is_written(
        self, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("COGOV_DATABASE_URL", database_url)
        monkeypatch.delenv("COGOV_VAULT_KEYS", raising=False)
        data_dir = tmp_path / "data"
        before = load_keyring(load_settings(data_dir=data_dir))
        result = runner.invoke(
            app, ["vault", "rotate", "--new-key", "--by", "ghost", "--data-dir", str(data_dir)]
        )
        assert result.exit_code == 3, result.output
        assert "user 'ghost' not found" in result.stderr
        assert load_keyring(load_settings(data_dir=data_dir)).keys == before.keys
        engine = make_engine(database_url)
        try:
            with unit_of_work(engine) as session:
                assert vault_entries(session) == []
        finally:
            engine.dispose()

    def test_a_missing_key_is_a_clear_error(
        self, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("COGOV_DATABASE_URL", database_url)
        monkeypatch.setenv("COGOV_VAULT_KEYS", f"other:{encoded(os.urandom(32))}")
        engine = make_engine(database_url)
        try:
            with unit_of_work(engine) as session:
                submit(session, body(), config=config(VaultKeyring.generate("lost")))
        finally:
            engine.dispose()
        result = runner.invoke(app, ["vault", "rotate", "--data-dir", str(tmp_path)])
        assert result.exit_code == 2
        assert "'lost'" in result.output
        assert "Traceback" not in result.output

"""Encryption at rest of the contact vault: AES-256-GCM per row.

Each vault row holds its contact fields as one sealed blob (a 12-byte nonce, then
the ciphertext and tag) and the id of the key that sealed it. The associated data
binds the blob to its case id and key id, so a blob copied to another case's row,
or relabelled with another key id, fails to open instead of showing someone else's
details. Keys come from ``COGOV_VAULT_KEYS`` (``id:base64,...``, the first one
current) or else from a key file in the data directory (``intake/vault-keys.json``,
mode 0600, created on first use). Rotation adds a key that becomes current; the old
ones still open what they sealed until ``cogov vault rotate`` has re-sealed it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cogov.core.canonical import canonical_json
from cogov.core.errors import ValidationFailed
from cogov.core.settings import Settings
from cogov.intake.errors import IntakeError

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
KEY_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_AAD_PREFIX: Final = b"cogov.vault/v1"


class VaultError(IntakeError):
    """Base of the vault's errors."""


class VaultKeyMissing(VaultError):
    """A row was sealed under a key this keyring does not hold (or there is no key)."""

    def __init__(self, key_id: str | None, case_id: str | None = None) -> None:
        self.key_id = key_id
        self.case_id = case_id
        where = f" (contact details of case {case_id})" if case_id else ""
        if key_id is None:
            message = f"no contact-vault key is configured{where}"
        else:
            message = (
                f"contact-vault key {key_id!r} is not configured{where}: add it back to "
                "COGOV_VAULT_KEYS or the vault key file"
            )
        super().__init__(message)


class VaultUnreadable(VaultError):
    """A sealed row did not open: the key is wrong, or the row was altered or moved."""

    def __init__(self, case_id: str, key_id: str) -> None:
        self.case_id = case_id
        self.key_id = key_id
        super().__init__(
            f"contact details of case {case_id} do not open with vault key {key_id!r}: "
            "the key is wrong, or the row was altered or moved from another case"
        )


class VaultKeysInvalid(ValidationFailed, VaultError):
    """The configured keys cannot be used (names the setting or file and the reason)."""


@dataclass(frozen=True, slots=True)
class VaultKeyring:
    """The keys that open vault rows, by id; ``current`` seals new rows."""

    keys: Mapping[str, bytes]
    current: str
    #: Where the keys came from: "setting" (COGOV_VAULT_KEYS) or the key file's path.
    source: str = "memory"

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise VaultKeysInvalid("vault keys", f"current key {self.current!r} is not among them")
        for key_id, key in self.keys.items():
            if not KEY_ID_PATTERN.match(key_id):
                raise VaultKeysInvalid(
                    "vault keys", f"key id {key_id!r} must be 1-64 of A-Z a-z 0-9 . _ -"
                )
            if len(key) != KEY_BYTES:
                raise VaultKeysInvalid(
                    "vault keys", f"key {key_id!r} must be {KEY_BYTES} bytes, got {len(key)}"
                )

    @classmethod
    def generate(cls, key_id: str | None = None) -> VaultKeyring:
        """A keyring with one fresh random key (tests, and a new key file)."""
        key_id = key_id or new_key_id()
        return cls({key_id: AESGCM.generate_key(bit_length=256)}, key_id)

    def seal(self, case_id: str, fields: Mapping[str, str]) -> tuple[str, bytes]:
        """(key id, nonce + ciphertext) of a case's contact fields, under the current key."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        plaintext = canonical_json(dict(fields)).encode()
        sealed = AESGCM(self.keys[self.current]).encrypt(
            nonce, plaintext, _associated_data(case_id, self.current)
        )
        return self.current, nonce + sealed

    def open(self, case_id: str, key_id: str, sealed: bytes) -> dict[str, str]:
        """The contact fields of a sealed row. Raises VaultKeyMissing naming the key id
        when it is not held, VaultUnreadable when the blob does not open for this case."""
        key = self.keys.get(key_id)
        if key is None:
            raise VaultKeyMissing(key_id, case_id)
        blob = bytes(sealed)
        try:
            plaintext = AESGCM(key).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated_data(case_id, key_id)
            )
        except (InvalidTag, ValueError):
            raise VaultUnreadable(case_id, key_id) from None
        fields = json.loads(plaintext)
        if not isinstance(fields, dict):  # pragma: no cover - only a sealed dict authenticates
            raise VaultUnreadable(case_id, key_id)
        return {str(name): str(value) for name, value in fields.items()}

    def with_new_key(self, key_id: str | None = None) -> VaultKeyring:
        """This keyring plus a fresh key that becomes current."""
        key_id = key_id or new_key_id()
        if key_id in self.keys:
            raise VaultKeysInvalid("key_id", f"{key_id!r} is already a vault key")
        keys = {**self.keys, key_id: AESGCM.generate_key(bit_length=256)}
        return VaultKeyring(keys, key_id, self.source)


def _associated_data(case_id: str, key_id: str) -> bytes:
    return b"\x00".join((_AAD_PREFIX, case_id.encode(), key_id.encode()))


def new_key_id() -> str:
    return f"vk-{secrets.token_hex(6)}"


def parse_keys_setting(text: str) -> VaultKeyring:
    """Keys from ``COGOV_VAULT_KEYS``: ``id:base64key`` pairs separated by commas, the
    first one current (standard or URL-safe base64 of 32 random bytes)."""
    keys: dict[str, bytes] = {}
    for position, item in enumerate(part.strip() for part in text.split(",")):
        key_id, colon, encoded = item.partition(":")
        if not colon or not key_id.strip():
            raise VaultKeysInvalid("COGOV_VAULT_KEYS", f"item {position + 1} must be id:base64key")
        if key_id.strip() in keys:
            raise VaultKeysInvalid("COGOV_VAULT_KEYS", f"key id {key_id.strip()!r} appears twice")
        keys[key_id.strip()] = _decode_key("COGOV_VAULT_KEYS", key_id.strip(), encoded.strip())
    if not keys:
        raise VaultKeysInvalid("COGOV_VAULT_KEYS", "names no key")
    return VaultKeyring(keys, next(iter(keys)), "setting")


def _decode_key(where: str, key_id: str, encoded: str) -> bytes:
    try:
        key = base64.b64decode(encoded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise VaultKeysInvalid(where, f"key {key_id!r} is not base64") from None
    if len(key) != KEY_BYTES:
        raise VaultKeysInvalid(where, f"key {key_id!r} must be {KEY_BYTES} bytes, got {len(key)}")
    return key


def key_file_path(settings: Settings) -> Path:
    return settings.vault_key_file or settings.data_dir / "intake" / "vault-keys.json"


def load_keyring(settings: Settings, *, create: bool = True) -> VaultKeyring:
    """The vault keys: from ``COGOV_VAULT_KEYS`` when set, else the key file (created
    with one key, mode 0600, when absent and ``create``)."""
    if settings.vault_keys is not None:
        return parse_keys_setting(settings.vault_keys.get_secret_value())
    return load_key_file(key_file_path(settings), create=create)


def load_key_file(path: Path, *, create: bool = True) -> VaultKeyring:
    """The keyring in ``path`` (JSON: ``current`` and ``keys`` as id -> base64)."""
    if not path.exists():
        if not create:
            raise VaultKeysInvalid(str(path), "no such file")
        _write_new(path, VaultKeyring.generate())
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise VaultKeysInvalid(str(path), f"permissions {mode:04o} are too open; chmod 600 it")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        current = document["current"]
        encoded = document["keys"]
        if not isinstance(current, str) or not isinstance(encoded, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise VaultKeysInvalid(
            str(path), 'not a vault key file ({"current": id, "keys": {id: base64}})'
        ) from None
    keys = {
        str(key_id): _decode_key(str(path), str(key_id), str(value))
        for key_id, value in encoded.items()
    }
    if current not in keys:
        raise VaultKeysInvalid(str(path), f"current key {current!r} is not among its keys")
    return VaultKeyring(keys, current, str(path))


def save_key_file(path: Path, keyring: VaultKeyring) -> None:
    """Replace the key file with ``keyring`` (written aside at 0600, then renamed)."""
    temporary = _write_aside(path, keyring)
    try:
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_new(path: Path, keyring: VaultKeyring) -> None:
    # Hard-linked into place: when two processes race to create the file, exactly
    # one link succeeds and both then load the winner's key.
    temporary = _write_aside(path, keyring)
    try:
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_aside(path: Path, keyring: VaultKeyring) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    document = {
        "current": keyring.current,
        "keys": {key_id: base64.b64encode(key).decode() for key_id, key in keyring.keys.items()},
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(document, indent=2) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return temporary

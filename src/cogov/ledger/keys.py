"""The checkpoint signing key: an Ed25519 private key in a PEM file (mode 0600),
created on first use. Only the key's owner can read it; anyone may have the public key."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cogov.ledger.errors import SigningKeyUnusable
from cogov.ledger.note import key_hash, public_key_pem_text, raw_public_key, verifier_key


@dataclass(frozen=True)
class LedgerKey:
    """The signing key and the name checkpoints are signed under (the log's origin)."""

    private_key: Ed25519PrivateKey
    origin: str

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def public_key_pem(self) -> str:
        return public_key_pem_text(self.public_key)

    @property
    def verifier_key(self) -> str:
        return verifier_key(self.origin, self.public_key)

    @property
    def key_hash_hex(self) -> str:
        return key_hash(self.origin, self.public_key).hex()


def default_origin(public_key: Ed25519PublicKey) -> str:
    """An origin that is stable for as long as the key is: named after its fingerprint."""
    return f"cogov.ledger/{hashlib.sha256(raw_public_key(public_key)).hexdigest()[:16]}"


def load_or_create_key(path: Path, *, origin: str | None = None, create: bool = True) -> LedgerKey:
    """Load the key at ``path``; create it (mode 0600) when absent and ``create``.

    Raises SigningKeyUnusable when the file is unreadable, not an Ed25519 PEM key,
    readable by group or others, or absent with ``create=False``.
    """
    if not path.exists():
        if not create:
            raise SigningKeyUnusable(path, "no such file (make a checkpoint first to create it)")
        _create(path)
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise SigningKeyUnusable(path, f"permissions {mode:04o} are too open; chmod 600 it")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyUnusable(path, "not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyUnusable(path, "not an Ed25519 key")
    return LedgerKey(key, origin or default_origin(key.public_key()))


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Written aside, then hard-linked into place: when two processes race to create
    # the key, exactly one link succeeds and the other loads the winner's key, and
    # no reader ever sees a half-written file.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)

"""Checkpoints as C2SP signed notes, the format of Go's sumdb, Tessera and Sigstore.

A checkpoint (https://c2sp.org/tlog-checkpoint) is the note text::

    <origin>
    <tree size, decimal>
    <root hash, standard base64>
    time <recorded_at of the checkpoint, ISO-8601 UTC>

followed by a blank line and one signature line (https://c2sp.org/signed-note)::

    — <key name> <base64(key hash[4] || Ed25519 signature[64])>

The key hash is the first four bytes of SHA-256(key name || 0x0A || 0x01 ||
public key), so existing note verifiers (``golang.org/x/mod/sumdb/note``, Tessera's
clients) accept it given the verifier key ``<name>+<hash hex>+<base64(0x01||key)>``.
The ``time`` line is a checkpoint extension line (readers that do not know it skip it).

Pure: text and keys in, values out. Loading or creating the key file lives in keys.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519: Final = b"\x01"
SIGNATURE_PREFIX: Final = "\u2014 "  # em dash and a space
KEY_NAME_PATTERN = re.compile(r"^[^\s+]+$")
TIME_PATTERN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class CheckpointError(ValueError):
    """A checkpoint's text or signature is not valid; the message says what."""


@dataclass(frozen=True)
class Checkpoint:
    """A verified (or freshly made) checkpoint: what the log committed to."""

    origin: str
    size: int
    root: bytes
    time: str
    note: str  # the whole signed note, byte for byte as signed and stored
    key_name: str
    key_hash: bytes

    @property
    def root_hex(self) -> str:
        return self.root.hex()


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_hash(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The signed-note key hash: 4 bytes naming (key name, algorithm, public key)."""
    digest = hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + raw_public_key(public_key))
    return digest.digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The signed-note verifier key string ``<name>+<hash hex>+<base64(0x01||key)>``."""
    encoded = base64.b64encode(ALG_ED25519 + raw_public_key(public_key)).decode()
    return f"{name}+{key_hash(name, public_key).hex()}+{encoded}"


def public_key_pem_text(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def parse_public_key_pem(text: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(text.encode())
    except ValueError as exc:
        raise CheckpointError("public key: not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError("public key: not an Ed25519 key")
    return key


def checkpoint_body(origin: str, size: int, root: bytes, time: str) -> str:
    if not KEY_NAME_PATTERN.match(origin):
        raise CheckpointError(f"origin {origin!r}: must be non-empty with no space or '+'")
    if size < 0 or len(root) != 32 or not TIME_PATTERN.match(time):
        raise CheckpointError("size, root or time is malformed")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\ntime {time}\n"


def sign_checkpoint(
    private_key: Ed25519PrivateKey, *, origin: str, size: int, root: bytes, time: str
) -> Checkpoint:
    """Make the signed note of a checkpoint; the key is named after the origin."""
    note = sign_note(private_key, origin, checkpoint_body(origin, size, root, time))
    return Checkpoint(
        origin, size, root, time, note, origin, key_hash(origin, private_key.public_key())
    )


def parse_checkpoint_body(body: str) -> tuple[str, int, bytes, str]:
    """``(origin, size, root, time)`` of a note body; raises CheckpointError."""
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise CheckpointError("body must be origin, size and root hash lines, each ending in \\n")
    origin, size_text, root_text, *extensions = lines[:-1]
    if not origin or not size_text.isdigit() or (size_text != "0" and size_text[0] == "0"):
        raise CheckpointError("origin or tree size line is malformed")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError as exc:
        raise CheckpointError("root hash line is not base64") from exc
    if len(root) != 32:
        raise CheckpointError("root hash is not 32 bytes")
    times = [line[5:] for line in extensions if line.startswith("time ")]
    time = times[0] if len(times) == 1 and TIME_PATTERN.match(times[0]) else ""
    return origin, int(size_text), root, time


def sign_note(private_key: Ed25519PrivateKey, name: str, text: str) -> str:
    """Sign note ``text`` (ending in a newline) as key ``name``: the signed note."""
    if not KEY_NAME_PATTERN.match(name) or not text.endswith("\n"):
        raise CheckpointError("a note's key name has no space or '+', its text ends in \\n")
    blob = key_hash(name, private_key.public_key()) + private_key.sign(text.encode())
    return f"{text}\n{SIGNATURE_PREFIX}{name} {base64.b64encode(blob).decode()}\n"


def verify_note(note: str, public_key: Ed25519PublicKey) -> tuple[str, str, bytes]:
    """Check a signed note's signature by ``public_key``; return (text, key name,
    key hash). Accepts the note if one signature line names a key whose hash matches
    (name, public_key) and that signature verifies; raises CheckpointError otherwise."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise CheckpointError("not a signed note: no blank line before the signatures")
    text += "\n"
    problem = "no signature line"
    for line in signatures[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(f"signature line {line[:40]!r} does not start with '— '")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].rpartition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except ValueError:
            problem = "a signature is not base64"
            continue
        expected_hash = key_hash(name, public_key)
        if len(blob) != 68 or blob[:4] != expected_hash:
            problem = f"no signature by this public key under the name {name!r}"
            continue
        try:
            public_key.verify(blob[4:], text.encode())
        except InvalidSignature:
            problem = f"the signature by {name!r} does not verify with the public key"
            continue
        return text, name, expected_hash
    raise CheckpointError(problem)


def verify_checkpoint(note: str, public_key: Ed25519PublicKey) -> Checkpoint:
    """Check a signed checkpoint's signature by ``public_key`` and parse it."""
    text, name, hashed = verify_note(note, public_key)
    origin, size, root, time = parse_checkpoint_body(text)
    if name != origin:
        raise CheckpointError(f"signed by {name!r}, not by the log's own key {origin!r}")
    return Checkpoint(origin, size, root, time, note, name, hashed)

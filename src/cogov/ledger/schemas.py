from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from cogov.ledger.note import Checkpoint


class Responsible(BaseModel):
    """Who answers for one step, as far as known. ``None`` means not involved or unknown.

    developer: the agent version and model hash (who built it); deployer: the
    configuration hash and who deployed it; operator: the human who acted (e.g. a
    reviewer); guardian: the named human guardian of the agent.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    developer: str | None = None
    deployer: str | None = None
    operator: str | None = None
    reviewer: str | None = None
    guardian: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {key: value for key, value in self.model_dump().items() if value is not None}


@dataclass(frozen=True)
class EntryDraft:
    """One entry for :func:`append_many`: the same fields :func:`append` takes."""

    kind: str
    actor: str
    payload: Mapping[str, Any] | None = None
    case_id: str | None = None
    responsible: Responsible | None = None


@dataclass(frozen=True)
class AppendedRange:
    """What :func:`append_many` wrote: entries ``first_seq..last_seq`` (none if
    ``first_seq > last_seq``), the last one hashing to ``head_hash``."""

    first_seq: int
    last_seq: int
    head_hash: str

    @property
    def count(self) -> int:
        return self.last_seq - self.first_seq + 1


class LedgerEntryRead(BaseModel):
    """An entry as other packages and the API read it: payload and responsible parsed."""

    model_config = ConfigDict(frozen=True)

    seq: int
    recorded_at: str
    kind: str
    case_id: str | None
    actor: str
    responsible: dict[str, str]
    payload: dict[str, Any]
    prev_hash: str
    entry_hash: str


def _b64(values: list[bytes]) -> list[str]:
    return [base64.b64encode(value).decode() for value in values]


@dataclass(frozen=True)
class InclusionProof:
    """Entry ``seq`` (leaf ``seq - 1``) is in the tree of ``tree_size`` with ``root``."""

    seq: int
    tree_size: int
    entry_bytes: bytes
    entry_hash: bytes
    path: list[bytes]
    root: bytes
    checkpoint: Checkpoint | None = None

    @property
    def leaf_index(self) -> int:
        return self.seq - 1

    def bundle(self, *, public_key_pem: str, verifier_key: str) -> dict[str, Any]:
        """Everything a third party needs to check the proof (see proofs.verify_bundle)."""
        return {
            "type": "inclusion",
            "seq": self.seq,
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "entry": json.loads(self.entry_bytes),
            "entry_bytes": self.entry_bytes.decode(),
            "entry_hash": self.entry_hash.hex(),
            "inclusion_path": _b64(self.path),
            "root_hash": base64.b64encode(self.root).decode(),
            "checkpoint": self.checkpoint.note if self.checkpoint else None,
            "public_key_pem": public_key_pem,
            "verifier_key": verifier_key,
        }


@dataclass(frozen=True)
class ConsistencyProof:
    """The tree of ``old_size`` (``old_root``) is a prefix of the tree of ``new_size``."""

    old_size: int
    new_size: int
    path: list[bytes]
    old_root: bytes
    new_root: bytes
    old_checkpoint: Checkpoint | None = None
    new_checkpoint: Checkpoint | None = None

    def bundle(self, *, public_key_pem: str, verifier_key: str) -> dict[str, Any]:
        return {
            "type": "consistency",
            "old_size": self.old_size,
            "new_size": self.new_size,
            "consistency_path": _b64(self.path),
            "old_root_hash": base64.b64encode(self.old_root).decode(),
            "root_hash": base64.b64encode(self.new_root).decode(),
            "old_checkpoint": self.old_checkpoint.note if self.old_checkpoint else None,
            "checkpoint": self.new_checkpoint.note if self.new_checkpoint else None,
            "public_key_pem": public_key_pem,
            "verifier_key": verifier_key,
        }


@dataclass(frozen=True)
class Problem:
    """What :func:`verify` found wrong. ``code`` is stable for machines; ``seq`` is the
    first bad sequence number where the problem is in the entries, ``checkpoint`` the
    checkpoint number where it is in a checkpoint."""

    code: str
    message: str
    seq: int | None = None
    checkpoint: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "seq": self.seq, "checkpoint": self.checkpoint,
                "message": self.message}  # fmt: skip


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify`. ``problem`` is the first thing wrong (None if ok);
    ``entries`` and ``head_hash`` are how far the chain checked out (the newest entry
    and its hash when ok)."""

    entries: int
    head_hash: str
    checkpoints: int
    checkpoint_size: int | None
    checkpoint_root: str | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_hash": self.head_hash,
            "checkpoints": self.checkpoints,
            "checkpoint_size": self.checkpoint_size,
            "checkpoint_root": self.checkpoint_root,
            "problem": self.problem.as_dict() if self.problem else None,
            "problems": [problem.as_dict() for problem in self.problems],
        }

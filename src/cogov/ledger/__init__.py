"""The accountability ledger: a hash-chained, append-only log of every step, with a
Merkle tree over it, signed checkpoints, and proofs a third party can check.

Other packages use :func:`append` (or :func:`append_many`) inside their own unit of
work, so an entry and the state change it records commit (or roll back) together;
:func:`stage` does the same for an entry the transaction does not read back, chaining
it at commit so concurrent writers do not wait on each other's round trips.
Auditors use :func:`verify`, :func:`inclusion_proof` and :func:`consistency_proof`;
cogov.ledger.proofs holds the pure verifiers a third party runs.
"""

from cogov.ledger.errors import LedgerError
from cogov.ledger.models import LedgerEntry
from cogov.ledger.note import Checkpoint
from cogov.ledger.schemas import (
    AppendedRange,
    ConsistencyProof,
    EntryDraft,
    InclusionProof,
    LedgerEntryRead,
    Problem,
    Responsible,
    VerifyReport,
)
from cogov.ledger.service import (
    append,
    append_draft,
    append_many,
    chain_staged,
    consistency_proof,
    entries_for_case,
    entries_for_cases,
    inclusion_proof,
    latest_checkpoint,
    make_checkpoint,
    public_key_pem,
    signing_key,
    stage,
)
from cogov.ledger.verification import verify

__all__ = [
    "AppendedRange",
    "Checkpoint",
    "ConsistencyProof",
    "EntryDraft",
    "InclusionProof",
    "LedgerEntry",
    "LedgerEntryRead",
    "LedgerError",
    "Problem",
    "Responsible",
    "VerifyReport",
    "append",
    "append_draft",
    "append_many",
    "chain_staged",
    "consistency_proof",
    "entries_for_case",
    "entries_for_cases",
    "inclusion_proof",
    "latest_checkpoint",
    "make_checkpoint",
    "public_key_pem",
    "signing_key",
    "stage",
    "verify",
]

"""The ledger for auditors: verify, checkpoints, inclusion and consistency proofs,
and the entries of one case (/api/v1/ledger)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from cogov.api.auth import Principal, SignedInReadSession, require_roles
from cogov.api.deps import ClockDep, DbSession, get_settings
from cogov.api.errors import responses
from cogov.core.types import Role
from cogov.ledger import Checkpoint, LedgerEntryRead, entries_for_case, verify
from cogov.ledger import service as ledger
from cogov.ledger.errors import NoCheckpoint

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])

# Routes that only read sign in before their read-only session (SignedInReadSession).
Auditing = Annotated[
    Principal, Depends(require_roles(Role.AUDITOR, Role.ADMINISTRATOR, reading=True))
]
CaseReading = Annotated[
    Principal,
    Depends(require_roles(Role.AUDITOR, Role.ADMINISTRATOR, Role.REVIEWER, reading=True)),
]
Administering = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR))]


class ProblemOut(BaseModel):
    code: str
    message: str
    seq: int | None
    checkpoint: int | None


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    head_hash: str
    checkpoints: int
    checkpoint_size: int | None
    checkpoint_root: str | None
    problems: list[ProblemOut]


class CheckpointOut(BaseModel):
    origin: str
    size: int
    root_hash: str = Field(description="Merkle root (RFC 9162), hex.")
    time: str
    note: str = Field(description="The signed note (C2SP checkpoint), byte for byte.")
    key_hash: str


class EntryOut(BaseModel):
    seq: int
    recorded_at: str
    kind: str
    case_id: str | None
    actor: str
    responsible: dict[str, str]
    payload: dict[str, Any]
    prev_hash: str
    entry_hash: str


class InclusionBundle(BaseModel):
    type: str
    seq: int
    leaf_index: int
    tree_size: int
    entry: list[Any] = Field(description="The entry's columns, in the order that is hashed.")
    entry_bytes: str
    entry_hash: str
    inclusion_path: list[str]
    root_hash: str
    checkpoint: str | None
    public_key_pem: str
    verifier_key: str


class ConsistencyBundle(BaseModel):
    type: str
    old_size: int
    new_size: int
    consistency_path: list[str]
    old_root_hash: str
    root_hash: str
    old_checkpoint: str | None
    checkpoint: str | None
    public_key_pem: str
    verifier_key: str


class NoCheckpointYet(NoCheckpoint):
    def __init__(self) -> None:
        super().__init__("no checkpoint yet: POST /api/v1/ledger/checkpoint makes one")


def _checkpoint_out(checkpoint: Checkpoint) -> CheckpointOut:
    return CheckpointOut(
        origin=checkpoint.origin,
        size=checkpoint.size,
        root_hash=checkpoint.root_hex,
        time=checkpoint.time,
        note=checkpoint.note,
        key_hash=checkpoint.key_hash.hex(),
    )


def _entry_out(entry: LedgerEntryRead) -> EntryOut:
    return EntryOut(**entry.model_dump())


@router.get(
    "/verify",
    response_model=VerifyOut,
    summary="Check the whole chain, every entry hash and every signed checkpoint",
    responses=responses(401, 403),
)
def verify_ledger(_who: Auditing, request: Request, session: SignedInReadSession) -> VerifyOut:
    key = ledger.signing_key(get_settings(request))
    report = verify(session, public_key=key.public_key)
    return VerifyOut.model_validate(report.as_dict())


@router.get(
    "/checkpoint",
    response_model=CheckpointOut,
    summary="The newest signed checkpoint",
    responses=responses(401, 403, 404),
)
def latest(_who: Auditing, session: SignedInReadSession) -> CheckpointOut:
    checkpoint = ledger.latest_checkpoint(session)
    if checkpoint is None:
        raise NoCheckpointYet()
    return _checkpoint_out(checkpoint)


@router.post(
    "/checkpoint",
    response_model=CheckpointOut,
    status_code=status.HTTP_201_CREATED,
    summary="Sign a checkpoint over every entry so far (returns the latest if nothing is new)",
    responses=responses(401, 403, 409),
)
def make_checkpoint(
    _who: Administering, request: Request, session: DbSession, clock: ClockDep
) -> CheckpointOut:
    key = ledger.signing_key(get_settings(request))
    return _checkpoint_out(ledger.make_checkpoint(session, key=key, clock=clock))


@router.get(
    "/proofs/inclusion",
    response_model=InclusionBundle,
    summary="Proof that entry `seq` is in the tree of `size` entries (default: latest checkpoint)",
    responses=responses(401, 403, 409, 422),
)
def inclusion(
    _who: Auditing,
    request: Request,
    session: SignedInReadSession,
    seq: Annotated[int, Query(ge=1, le=2**62)],
    size: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> InclusionBundle:
    key = ledger.signing_key(get_settings(request))
    proof = ledger.inclusion_proof(session, seq, size)
    bundle = proof.bundle(public_key_pem=key.public_key_pem, verifier_key=key.verifier_key)
    return InclusionBundle.model_validate(bundle)


@router.get(
    "/proofs/consistency",
    response_model=ConsistencyBundle,
    summary="Proof that the tree of `old_size` is a prefix of the tree of `new_size`",
    responses=responses(401, 403, 409, 422),
)
def consistency(
    _who: Auditing,
    request: Request,
    session: SignedInReadSession,
    old_size: Annotated[int, Query(ge=0, le=2**62)],
    new_size: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> ConsistencyBundle:
    key = ledger.signing_key(get_settings(request))
    proof = ledger.consistency_proof(session, old_size, new_size)
    bundle = proof.bundle(public_key_pem=key.public_key_pem, verifier_key=key.verifier_key)
    return ConsistencyBundle.model_validate(bundle)


@router.get(
    "/cases/{case_id}/entries",
    response_model=list[EntryOut],
    summary="Every ledger entry of one case, in order",
    responses=responses(401, 403),
)
def case_entries(case_id: str, _who: CaseReading, session: SignedInReadSession) -> list[EntryOut]:
    return [_entry_out(entry) for entry in entries_for_case(session, case_id)]


@router.get(
    "/public-key",
    response_class=PlainTextResponse,
    summary="The PEM public key that checks every checkpoint (public)",
)
def public_key(request: Request) -> str:
    return ledger.public_key_pem(get_settings(request))

"""The ledger explorer for auditors: browse entries, verify the whole chain and its
signed checkpoints, and get (and check) an inclusion proof for any entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cogov.api.auth import Principal, SignedInReadSession, require_roles
from cogov.api.deps import ClockDep, DbSession, get_settings
from cogov.core.errors import NotFound
from cogov.core.types import Role
from cogov.ledger import inclusion_proof, latest_checkpoint, verify
from cogov.ledger import service as ledger
from cogov.ledger.errors import LedgerError
from cogov.ledger.keys import LedgerKey
from cogov.ledger.proofs import BundleInvalid, verify_bundle, verify_inclusion
from cogov.web.pages import PageDep, ReadingPageDep

router = APIRouter()
# Reads only (explorer, verify, proofs): signed in before a read-only session.
Auditor = Annotated[
    Principal, Depends(require_roles(Role.AUDITOR, Role.ADMINISTRATOR, reading=True))
]
Administrator = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR))]
PAGE_SIZE = 50


@dataclass(frozen=True)
class ProofView:
    """An inclusion proof as the page shows it, with the outcome of checking it."""

    seq: int
    tree_size: int
    entry_hash: str
    path: list[str]
    root: str
    signed: bool
    checkpoint_note: str | None
    valid: bool
    check: str


@router.get("/staff/ledger")
def explorer(
    page: ReadingPageDep,
    session: SignedInReadSession,
    _auditor: Auditor,
    before: Annotated[int | None, Query(ge=2, le=2**62)] = None,
) -> Response:
    total = ledger.entry_count(session)
    last = min(total, before - 1) if before else total
    entries = ledger.entries_before(session, last=last, count=PAGE_SIZE)
    oldest = entries[-1].seq if entries else 1
    return page.render(
        "staff/ledger.html",
        total=total,
        entries=entries,
        older=oldest if oldest > 1 else None,
        newer=last + PAGE_SIZE + 1 if last < total else None,
        checkpoint=latest_checkpoint(session),
    )


@router.get("/staff/ledger/verify")
def verify_chain(page: ReadingPageDep, session: SignedInReadSession, _auditor: Auditor) -> Response:
    """Check every entry's hash and link and every signed checkpoint. An htmx request
    gets the result alone (swapped into the explorer); a plain one gets a page."""
    key = ledger.signing_key(get_settings(page.request))
    report = verify(session, public_key=key.public_key)
    fragment = page.request.headers.get("HX-Request") == "true"
    template = "partials/verify_result.html" if fragment else "staff/ledger_verify.html"
    return page.render(template, report=report)


@router.get("/staff/ledger/find")
def find_entry(
    page: ReadingPageDep, _auditor: Auditor, seq: Annotated[int, Query(ge=1, le=2**62)]
) -> Response:
    return page.redirect(f"/staff/ledger/{seq}")


@router.post("/staff/ledger/checkpoint")
def sign_checkpoint(
    page: PageDep, session: DbSession, _admin: Administrator, clock: ClockDep
) -> Response:
    key = ledger.signing_key(get_settings(page.request))
    ledger.make_checkpoint(session, key=key, clock=clock)
    return page.redirect("/staff/ledger")


def _proof(session: Session, seq: int, total: int, key: LedgerKey) -> ProofView:
    """The proof against the newest signed checkpoint when it covers the entry
    (checked as a third party would, with the public key only); otherwise against
    the current tree, checked by recomputing its root."""
    checkpoint = latest_checkpoint(session)
    signed = checkpoint is not None and checkpoint.size >= seq
    proof = inclusion_proof(session, seq, None if signed else total)
    if signed:
        bundle = proof.bundle(public_key_pem=key.public_key_pem, verifier_key=key.verifier_key)
        try:
            check = verify_bundle(bundle, key.public_key_pem)
            valid = True
        except BundleInvalid as refused:
            check, valid = str(refused), False
    else:
        valid = verify_inclusion(proof.entry_hash, seq - 1, proof.tree_size, proof.path, proof.root)
        check = ""
    return ProofView(
        seq=seq,
        tree_size=proof.tree_size,
        entry_hash=proof.entry_hash.hex(),
        path=[node.hex() for node in proof.path],
        root=proof.root.hex(),
        signed=signed,
        checkpoint_note=proof.checkpoint.note if proof.checkpoint else None,
        valid=valid,
        check=check,
    )


@router.get("/staff/ledger/{seq}")
def entry_detail(
    page: ReadingPageDep, session: SignedInReadSession, _auditor: Auditor, seq: int
) -> Response:
    entry = ledger.entry_at(session, seq=seq)
    if entry is None:
        raise NotFound("ledger entry", seq)
    key = ledger.signing_key(get_settings(page.request))
    try:
        proof: ProofView | None = _proof(session, seq, ledger.entry_count(session), key)
        proof_problem = None
    except LedgerError as failed:
        proof, proof_problem = None, failed.message
    return page.render(
        "staff/ledger_entry.html", entry=entry, proof=proof, proof_problem=proof_problem
    )

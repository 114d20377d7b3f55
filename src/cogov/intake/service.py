"""Use cases of intake. Keyword-only, take a session, never commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cogov.core.canonical import canonical_json
from cogov.core.clock import Clock, SystemClock, iso_utc
from cogov.core.ids import new_id
from cogov.core.text import control_character_problem
from cogov.db.batches import new_row
from cogov.identity import require_active_user
from cogov.intake import repository
from cogov.intake.config import IntakeConfig
from cogov.intake.errors import (
    AlreadyRated,
    CaseNotFound,
    IdempotencyConflict,
    InvalidRequest,
    UnknownCitizenToken,
)
from cogov.intake.models import Case, CaseContact
from cogov.intake.rules import (
    address_key,
    check_request,
    citizen_token,
    guess_language,
    request_hash,
    score_problem,
    token_hash,
)
from cogov.intake.schemas import CaseRating, CaseRead, ContactRead, ServiceRequestIn, Submission
from cogov.intake.vault import VaultKeyMissing, VaultKeyring, VaultUnreadable
from cogov.ledger import (
    EntryDraft,
    LedgerEntryRead,
    Responsible,
    append,
    entries_for_cases,
    stage,
)

IDEMPOTENCY_KEY_MAX = 128
#: The ledger kind of a citizen's rating.
RATING_KIND = "case.rated"
_SYSTEM_CLOCK = SystemClock()


def parse_request(body: ServiceRequestIn | Mapping[str, Any]) -> ServiceRequestIn:
    """A request from a mapping (form, JSON, Open311 POST), with every problem
    named by its Open311 field (``attribute[code]``, ``group.name``)."""
    if isinstance(body, ServiceRequestIn):
        return body
    try:
        return ServiceRequestIn.model_validate(dict(body))
    except ValidationError as exc:
        raise InvalidRequest([(_field_name(e["loc"]), _reason(e)) for e in exc.errors()]) from None


def _field_name(location: tuple[int | str, ...]) -> str:
    head, *rest = [str(part) for part in location] or ["request"]
    if head == "attribute" and rest:
        return f"attribute[{rest[0]}]"
    if head == "group" and rest:
        return f"group.{rest[0]}"
    return head


def _reason(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "is not a field of a service request"
    if error["type"] == "missing":
        return "is required"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def validate(
    body: ServiceRequestIn | Mapping[str, Any],
    *,
    config: IntakeConfig,
    idempotency_key: str | None = None,
    entered_by: str | None = None,
) -> ServiceRequestIn:
    """Every check that needs no database: the fields, the service and its
    attributes, the group attributes. Raises InvalidRequest naming each problem."""
    request = parse_request(body)
    problems: list[tuple[str, str]] = []
    if idempotency_key is not None and not 1 <= len(idempotency_key.strip()) <= IDEMPOTENCY_KEY_MAX:
        problems.append(("idempotency_key", f"must be 1-{IDEMPOTENCY_KEY_MAX} characters"))
    if entered_by is not None and not entered_by.strip():
        problems.append(("entered_by", "must name the staff user who entered the request"))
    service = config.catalogue.get(request.service_code)
    if service is None:
        problems.append(
            ("service_code", f"{request.service_code!r} is not a service of this agency")
        )
    else:
        problems += check_request(request, service, config.groups)
    if problems:
        raise InvalidRequest(problems)
    return request


def submit(
    session: Session,
    body: ServiceRequestIn | Mapping[str, Any],
    *,
    config: IntakeConfig,
    idempotency_key: str | None = None,
    entered_by: str | None = None,
    source_ref: str | None = None,
    responsible: Responsible | None = None,
    clock: Clock | None = None,
) -> Submission:
    """Validate and store one request, with its contact details in the vault and a
    ``case.received`` ledger entry, all in the caller's transaction.

    ``entered_by``: the staff username when staff enter the request for a citizen
    (assisted entry). ``idempotency_key``: a retry with the same key and body returns
    the same case (``replayed``); with a different body it raises IdempotencyConflict.
    Raises InvalidRequest naming every field at fault.
    """
    request = validate(body, config=config, idempotency_key=idempotency_key, entered_by=entered_by)
    key = idempotency_key.strip() if idempotency_key is not None else None
    body_hash = request_hash(request, entered_by=entered_by)
    if key is not None:
        earlier = repository.by_idempotency_key(session, key)
        if earlier is not None:
            return _replay(earlier, key, body_hash, config)
    new = _new_case(
        request, config, key, entered_by, source_ref, body_hash, responsible, clock,
        draft=key is None,  # a keyed case is stored under a savepoint, as an ORM row
    )  # fmt: skip
    if key is None:
        # Plain INSERTs (the case, then its vault row): the ORM's unit of work cost
        # more CPU than the rest of intake together.
        repository.insert_cases(session, [new.case], [new.contact] if new.contact else [])
    else:
        raced = _store_keyed(session, new, key, body_hash, config)
        if raced is not None:
            return raced
    # Staged: chained at commit, so under many concurrent intakes the ledger's lock
    # is not held across this request's remaining round trips (docs/ledger.md).
    stage(session, new.received, clock=clock)
    return new.submission


class IntakeBatch:
    """Many validated requests stored in one transaction: the batch form of
    :func:`submit`, with the same rows, idempotency answers and ``case.received``
    entries (into ``drafts``, the caller's list, in order, for one
    :func:`cogov.ledger.append_many` after :meth:`write`). Cases without an
    idempotency key are written at the end with one bulk insert per table; a keyed
    one is stored at once under a savepoint, so a concurrent retry that wins the
    race for its key is answered as a retry, as :func:`submit` does."""

    def __init__(
        self,
        session: Session,
        *,
        config: IntakeConfig,
        drafts: list[EntryDraft],
        clock: Clock | None = None,
    ) -> None:
        self._session = session
        self._config = config
        self._drafts = drafts
        self._clock = clock
        self._cases: list[Case] = []
        self._contacts: list[CaseContact] = []

    def submit(
        self,
        request: ServiceRequestIn,
        *,
        idempotency_key: str | None = None,
        entered_by: str | None = None,
        source_ref: str | None = None,
        responsible: Responsible | None = None,
    ) -> Submission:
        """:func:`submit` for a request :func:`validate` accepted with the same
        ``idempotency_key`` and ``entered_by``."""
        key = idempotency_key.strip() if idempotency_key is not None else None
        body_hash = request_hash(request, entered_by=entered_by)
        if key is not None:
            earlier = repository.by_idempotency_key(self._session, key)
            if earlier is not None:
                return _replay(earlier, key, body_hash, self._config)
        new = _new_case(
            request, self._config, key, entered_by, source_ref, body_hash, responsible,
            self._clock, draft=key is None,  # a keyed case is stored at once, as an ORM row
        )  # fmt: skip
        if key is None:
            self._cases.append(new.case)
            if new.contact is not None:
                self._contacts.append(new.contact)
        else:
            raced = _store_keyed(self._session, new, key, body_hash, self._config)
            if raced is not None:
                return raced
        self._drafts.append(new.received)
        return new.submission

    def write(self) -> None:
        """Insert the cases (and vault rows) collected so far."""
        repository.insert_cases(self._session, self._cases, self._contacts)
        self._cases, self._contacts = [], []


@dataclass(frozen=True, slots=True)
class _NewCase:
    case: Case
    contact: CaseContact | None
    received: EntryDraft
    submission: Submission


def _new_case(
    request: ServiceRequestIn,
    config: IntakeConfig,
    idempotency_key: str | None,
    entered_by: str | None,
    source_ref: str | None,
    body_hash: str,
    responsible: Responsible | None,
    clock: Clock | None,
    draft: bool = False,
) -> _NewCase:
    """The rows and the ``case.received`` entry of a new case (nothing stored)."""
    service = config.catalogue.by_code[request.service_code]
    case_id = new_id()
    token = citizen_token(config.token_key, case_id)
    case = new_row(
        Case,
        draft,
        id=case_id,
        service_code=service.code,
        description=request.description,
        language=request.language or guess_language(request.description),
        channel=request.channel.value,
        latitude=request.lat,
        longitude=request.long,
        address_string=request.address_string,
        address_id=request.address_id,
        address_key=address_key(
            request.address_string, request.address_id, request.lat, request.long
        ),
        media_url=request.media_url,
        attributes=canonical_json(request.attribute),
        group_attributes=canonical_json(request.group),
        entered_by=entered_by,
        source_ref=source_ref,
        idempotency_key=idempotency_key,
        request_hash=body_hash,
        citizen_token_hash=token_hash(token),
        received_at=iso_utc((clock or _SYSTEM_CLOCK).now()),
    )
    contact = _sealed_contact(config.vault, case_id, request.contact(), draft)
    received = EntryDraft(
        kind="case.received",
        actor=f"user:{entered_by}" if entered_by else f"citizen:{case_id}",
        case_id=case_id,
        payload={
            "service_code": service.code,
            "channel": case.channel,
            "language": case.language,
            "assisted": entered_by is not None,
            "entered_by": entered_by,
            "has_location": case.address_key is not None,
            "has_contact": contact is not None,
            "group_attributes_recorded": sorted(request.group),
            "request_hash": body_hash,
            "source_ref": source_ref,
        },
        responsible=responsible or Responsible(operator=entered_by),
    )
    submission = Submission(case=CaseRead.of(case), citizen_token=token, replayed=False)
    return _NewCase(case, contact, received, submission)


def _sealed_contact(
    vault: VaultKeyring | None, case_id: str, fields: dict[str, str], draft: bool
) -> CaseContact | None:
    """The vault row of a new case: its contact fields sealed under the current key
    (None when the request gave none). Never stored in plaintext: without a vault key
    a request with contact details is refused (VaultKeyMissing)."""
    if not fields:
        return None
    if vault is None:
        raise VaultKeyMissing(None, case_id)
    key_id, sealed = vault.seal(case_id, fields)
    return new_row(CaseContact, draft, case_id=case_id, key_id=key_id, sealed=sealed)


def _store_keyed(
    session: Session, new: _NewCase, key: str, body_hash: str, config: IntakeConfig
) -> Submission | None:
    """Store a case with an idempotency key; a concurrent retry may win the race for
    the key: then the answer is that retry's (None: stored)."""
    try:
        with session.begin_nested():
            repository.add_case(session, new.case, new.contact)
    except IntegrityError:
        earlier = repository.by_idempotency_key(session, key)
        if earlier is None:
            raise
        return _replay(earlier, key, body_hash, config)
    return None


def _replay(earlier: Case, key: str, body_hash: str, config: IntakeConfig) -> Submission:
    if earlier.request_hash != body_hash:
        raise IdempotencyConflict(key, earlier.id)
    return Submission(
        case=CaseRead.of(earlier),
        citizen_token=citizen_token(config.token_key, earlier.id),
        replayed=True,
    )


def get_case(session: Session, *, case_id: str) -> CaseRead:
    row = repository.get_case(session, case_id)
    if row is None:
        raise CaseNotFound(case_id)
    return CaseRead.of(row)


def case_for_token(session: Session, *, token: str) -> CaseRead:
    """The case a citizen's secret token opens (raises CaseNotFound otherwise;
    the message never echoes the token)."""
    row = repository.by_token_hash(session, token_hash(token))
    if row is None:
        raise UnknownCitizenToken()
    return CaseRead.of(row)


def list_cases(
    session: Session,
    *,
    ids: Sequence[str] | None = None,
    service_codes: Sequence[str] | None = None,
    received_from: str | None = None,
    received_to: str | None = None,
    limit: int = 1000,
) -> list[CaseRead]:
    """Cases, newest first (times as ISO-8601 UTC text, e.g. from iso_utc)."""
    rows = repository.list_cases(
        session,
        ids=ids,
        service_codes=service_codes,
        received_from=received_from,
        received_to=received_to,
        limit=limit,
    )
    return [CaseRead.of(row) for row in rows]


def cases_by_ids(session: Session, *, case_ids: Sequence[str]) -> dict[str, CaseRead]:
    """These cases keyed by id (an unknown id is absent), read in a few queries."""
    return {
        row.id: CaseRead.of(row)
        for row in repository.cases_by_ids(session, list(dict.fromkeys(case_ids)))
    }


def contact_for(session: Session, *, case_id: str, vault: VaultKeyring) -> ContactRead | None:
    """The contact details in the vault for one case, for sending the citizen
    updates. Never put what this returns in the ledger, an audit or an export.
    Raises VaultKeyMissing (naming the key id) when ``vault`` lacks the row's key, and
    VaultUnreadable when the row does not open (wrong key, altered, or moved)."""
    row = repository.get_contact(session, case_id)
    if row is None:
        return None
    return ContactRead(**_contact_fields(row, vault))


def _contact_fields(row: CaseContact, vault: VaultKeyring) -> dict[str, str]:
    if row.key_id is None:  # written before the vault was encrypted
        plain = {name: getattr(row, name) for name in _CONTACT_COLUMNS}
        return {name: value for name, value in plain.items() if value is not None}
    if row.sealed is None:
        raise VaultUnreadable(row.case_id, row.key_id)
    return vault.open(row.case_id, row.key_id, row.sealed)


_CONTACT_COLUMNS = ("email", "phone", "first_name", "last_name", "device_id", "account_id")


#: Ledger kinds of key rotation: one entry per re-sealed batch, in the batch's own
#: transaction, and one when no row is left under another key (never key material
#: or contact details: key ids and row counts only).
RESEALED_KIND = "vault.resealed"
ROTATED_KIND = "vault.rotated"


def reseal_batch(
    session: Session,
    *,
    vault: VaultKeyring,
    limit: int = 500,
    by: str | None = None,
    batch: int | None = None,
    clock: Clock | None = None,
) -> dict[str | None, int]:
    """Seal up to ``limit`` vault rows under the current key: rows under an older key,
    and plaintext rows from before the vault was encrypted (their plaintext columns
    are emptied). Returns the rows sealed per old key id (None: plaintext; empty:
    none left). A row whose key is
    missing, or that does not open, stops the batch with that error (nothing of the
    batch is half-written: the caller rolls back).

    Ledger (same transaction, only when rows were sealed): ``vault.resealed`` by
    ``user:<by>`` (``system:vault`` without ``by``) with the current key id, the
    batch number ``batch``, the rows and the rows per old key id (null: plaintext)."""
    if limit < 1:
        raise InvalidRequest([("batch_size", "must be at least 1")])
    if batch is not None and batch < 1:
        raise InvalidRequest([("batch", "must be at least 1")])
    _require_operator(session, by)
    rows = repository.contacts_to_seal(session, vault.current, limit)
    if not rows:
        return {}
    before: dict[str | None, int] = {}
    for row in rows:
        before[row.key_id] = before.get(row.key_id, 0) + 1
        row.key_id, row.sealed = vault.seal(row.case_id, _contact_fields(row, vault))
        for name in _CONTACT_COLUMNS:
            setattr(row, name, None)
    session.flush()
    append(
        session,
        kind=RESEALED_KIND,
        actor=_vault_actor(by),
        payload={
            "key_id": vault.current,
            "batch": batch,
            "rows": len(rows),
            "rows_by_old_key": _rows_by_key(before),
        },
        responsible=Responsible(operator=by) if by else None,
        clock=clock,
    )
    return before


def record_rotation(
    session: Session,
    *,
    vault: VaultKeyring,
    resealed: Mapping[str | None, int],
    batches: int,
    new_key: bool,
    by: str | None = None,
    clock: Clock | None = None,
) -> None:
    """Record a finished rotation (``vault.rotated``): the current key id, whether the
    run made it (``new_key``), how many batches it re-sealed and the rows per old key
    id (null: plaintext). Raises InvalidRequest naming ``vault`` while any row is
    still to be re-sealed under the current key (an unfinished rotation is only its
    ``vault.resealed`` entries)."""
    if batches < 0:
        raise InvalidRequest([("batches", "must be 0 or more")])
    _require_operator(session, by)
    left = vault_status(session, vault=vault).rows_to_reseal
    if left:
        raise InvalidRequest(
            [("vault", f"{left} rows are still to be re-sealed under key {vault.current!r}")]
        )
    append(
        session,
        kind=ROTATED_KIND,
        actor=_vault_actor(by),
        payload={
            "key_id": vault.current,
            "new_key": new_key,
            "batches": batches,
            "rows": sum(resealed.values()),
            "rows_by_old_key": _rows_by_key(resealed),
        },
        responsible=Responsible(operator=by) if by else None,
        clock=clock,
    )


def _require_operator(session: Session, by: str | None) -> None:
    """A rotation's ``by`` names an active staff user (the ledger holds them to it);
    raises identity's UserNotFound or UserDisabled otherwise."""
    if by is not None:
        require_active_user(session, username=by)


def _vault_actor(by: str | None) -> str:
    return f"user:{by}" if by else "system:vault"


def _rows_by_key(counts: Mapping[str | None, int]) -> list[dict[str, Any]]:
    # A list, not a map keyed by key id: a key id is the operator's choice, and the
    # ledger refuses map keys that look personal ("name", "contact", ...).
    ordered = sorted(counts.items(), key=lambda pair: (pair[0] is not None, pair[0] or ""))
    return [{"key_id": key_id, "rows": count} for key_id, count in ordered]


def vault_status(session: Session, *, vault: VaultKeyring | None = None) -> VaultStatus:
    """How many vault rows each key sealed, how many are plaintext, and (given the
    keyring) how many are still to be re-sealed under the current key."""
    counts = repository.contact_counts_by_key(session)
    plaintext = counts.pop(None, 0)
    by_key = {str(key_id): count for key_id, count in sorted(counts.items(), key=str)}
    current = vault.current if vault is not None else None
    to_reseal = plaintext + sum(count for key_id, count in by_key.items() if key_id != current)
    return VaultStatus(
        current_key=current,
        rows_by_key=by_key,
        plaintext_rows=plaintext,
        rows_to_reseal=to_reseal,
        missing_keys=sorted(set(by_key) - set(vault.keys)) if vault is not None else [],
    )


@dataclass(frozen=True, slots=True)
class VaultStatus:
    current_key: str | None
    rows_by_key: dict[str, int]
    plaintext_rows: int
    rows_to_reseal: int
    #: Key ids rows were sealed under that the keyring lacks (those rows cannot be read).
    missing_keys: list[str]


def erase_contact(
    session: Session, *, case_id: str, by: str, reason: str, clock: Clock | None = None
) -> bool:
    """Erase a case's contact details (the citizen's request, or retention expiry);
    the case itself stays. Returns False when there was nothing to erase."""
    if repository.get_case(session, case_id) is None:
        raise CaseNotFound(case_id)
    if problem := control_character_problem(reason):
        raise InvalidRequest([("reason", problem)])
    if not reason.strip():
        raise InvalidRequest([("reason", "say why the contact details are erased")])
    row = repository.get_contact(session, case_id)
    if row is None:
        return False
    repository.delete_contact(session, row)
    session.flush()
    append(
        session,
        kind="case.contact_erased",
        actor=f"user:{by}",
        case_id=case_id,
        payload={"reason": reason.strip()},
        responsible=Responsible(operator=by),
        clock=clock,
    )
    return True


def rate_case(
    session: Session, *, token: str, score: int, clock: Clock | None = None
) -> CaseRating:
    """Record the citizen's rating of how their request was handled, once per case,
    as a ``case.rated`` ledger entry; the citizen's token opens the case (raises
    CaseNotFound). Refuses a score outside 1-5 (InvalidRequest naming ``score``) and
    a second rating (AlreadyRated)."""
    problem = score_problem(score)
    if problem is not None:
        raise InvalidRequest([("score", problem)])
    case = case_for_token(session, token=token)
    # Two ratings sent at once must not both find the case unrated.
    repository.lock_case(session, case.id)
    if _rating_entries(session, case.id):
        raise AlreadyRated(case.id)
    entry = append(
        session,
        kind=RATING_KIND,
        actor=f"citizen:{case.id}",
        case_id=case.id,
        payload={"score": score},
        clock=clock,
    )
    return CaseRating(
        case_id=case.id, score=score, rated_at=entry.recorded_at, ledger_seq=entry.seq
    )


def rating_for_case(session: Session, *, case_id: str) -> CaseRating | None:
    """The citizen's rating of the case, or None while it is unrated."""
    return ratings_for_cases(session, case_ids=[case_id]).get(case_id)


def ratings_for_cases(session: Session, *, case_ids: Sequence[str]) -> dict[str, CaseRating]:
    """:func:`rating_for_case` for many cases in one ledger read, keyed by case id
    (an unrated case is absent)."""
    found: dict[str, CaseRating] = {}
    entries = entries_for_cases(session, list(dict.fromkeys(case_ids)), kinds=(RATING_KIND,))
    for case_id, listed in entries.items():
        rated = [entry for entry in listed if score_problem(entry.payload.get("score")) is None]
        if rated:
            last = rated[-1]
            found[case_id] = CaseRating(
                case_id=case_id,
                score=int(last.payload["score"]),
                rated_at=last.recorded_at,
                ledger_seq=last.seq,
            )
    return found


def _rating_entries(session: Session, case_id: str) -> list[LedgerEntryRead]:
    return entries_for_cases(session, [case_id], kinds=(RATING_KIND,))[case_id]

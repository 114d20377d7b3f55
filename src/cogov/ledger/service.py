"""Use cases of the ledger. Services never commit: the caller's unit of work does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from cogov.core.canonical import canonical_json
from cogov.core.clock import Clock, SystemClock, iso_utc
from cogov.ledger import repository
from cogov.ledger.errors import InvalidEntry, PersonalDataInPayload
from cogov.ledger.models import LedgerEntry
from cogov.ledger.rules import (
    ACTOR_PATTERN,
    GENESIS_HASH,
    KIND_PATTERN,
    entry_hash,
    find_personal_key,
)
from cogov.ledger.schemas import Responsible

_TAIL_KEY = "cogov.ledger.tail"
_SYSTEM_CLOCK = SystemClock()


def _forget_tail(session: Session, *_args: Any) -> None:
    session.info.pop(_TAIL_KEY, None)


# The tail is cached for the life of one transaction only: once it ends, another
# writer may append, so the next transaction reads the tail again under the lock.
event.listen(Session, "after_commit", _forget_tail)
event.listen(Session, "after_rollback", _forget_tail)
event.listen(Session, "after_soft_rollback", _forget_tail)


def append(
    session: Session,
    *,
    kind: str,
    actor: str,
    payload: Mapping[str, Any] | None = None,
    case_id: str | None = None,
    responsible: Responsible | None = None,
    clock: Clock | None = None,
) -> LedgerEntry:
    """Append one entry in the caller's transaction and return it (flushed).

    Raises InvalidEntry for a malformed kind or actor, PersonalDataInPayload when
    the payload carries a key that may hold contact or personal data.
    """
    if not KIND_PATTERN.match(kind):
        raise InvalidEntry("kind", f"{kind!r} is not dotted lower-case words like 'case.received'")
    if not ACTOR_PATTERN.match(actor):
        raise InvalidEntry(
            "actor", f"{actor!r} is not 'agent:…', 'user:…', 'citizen:…' or 'system:…'"
        )
    body = dict(payload or {})
    leaked = find_personal_key(body)
    if leaked:
        raise PersonalDataInPayload(leaked)
    try:
        payload_text = canonical_json(body)
    except (TypeError, ValueError) as exc:
        raise InvalidEntry("payload", f"not canonical JSON: {exc}") from exc
    responsible_text = canonical_json((responsible or Responsible()).as_dict())

    cached = session.info.get(_TAIL_KEY)
    if cached is None:
        repository.lock_for_append(session)
        cached = repository.tail(session) or (0, GENESIS_HASH)
    last_seq, last_hash = cached
    fields = {
        "seq": last_seq + 1,
        "recorded_at": iso_utc((clock or _SYSTEM_CLOCK).now()),
        "kind": kind,
        "case_id": case_id,
        "actor": actor,
        "responsible": responsible_text,
        "payload": payload_text,
        "prev_hash": last_hash,
    }
    entry = LedgerEntry(**fields, entry_hash=entry_hash(**fields))
    repository.add(session, entry)
    session.flush()
    session.info[_TAIL_KEY] = (entry.seq, entry.entry_hash)
    return entry

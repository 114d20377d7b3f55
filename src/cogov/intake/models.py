"""Tables of intake: the case as the citizen submitted it, and the contact vault.

A case row is written once and never changed: it is the record of what was asked.
Where the case stands now (state, department, priority) lives in
``cogov.control`` (table ``case_workflows``). Contact details live only in
``case_contacts``, so the case row, the ledger, audits and exports never hold them,
and there they are encrypted at rest (``cogov.intake.vault``).
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cogov.db.base import Base


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    service_code: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Where the problem is (a public place), not where the citizen lives.
    address_string: Mapped[str | None] = mapped_column(String(500))
    address_id: Mapped[str | None] = mapped_column(String(128))
    # Normalised place key (building / street segment) for duplicate detection.
    address_key: Mapped[str | None] = mapped_column(String(200))
    media_url: Mapped[str | None] = mapped_column(String(2000))
    # Canonical JSON maps: Open311 attribute[...] answers, and the group attributes
    # the agency chose to record (age band, needs_assistance, ...) for audits.
    attributes: Mapped[str] = mapped_column(Text, nullable=False)
    group_attributes: Mapped[str] = mapped_column(Text, nullable=False)
    # Staff user who entered the request for the citizen (assisted entry), if any.
    entered_by: Mapped[str | None] = mapped_column(String(64))
    # Id of the record in the system it came from (e.g. a replayed history), if any.
    source_ref: Mapped[str | None] = mapped_column(String(128), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    # SHA-256 of the canonical request body: same key + different body is a conflict.
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # SHA-256 of the citizen's secret token (the token itself is shown once, never stored).
    citizen_token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    received_at: Mapped[str] = mapped_column(String(27), nullable=False, index=True)


class CaseContact(Base):
    """The contact vault: one row per case that gave any contact detail.

    A row holds its fields sealed (AES-256-GCM, nonce + ciphertext in ``sealed``,
    bound to the case id) under the key ``key_id``; the plaintext columns are empty.
    Rows written before the vault was encrypted (``key_id`` NULL) keep them in
    plaintext until ``cogov vault rotate`` seals them.
    """

    __tablename__ = "case_contacts"

    case_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    key_id: Mapped[str | None] = mapped_column(String(64), index=True)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    device_id: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[str | None] = mapped_column(String(200))

"""What intake accepts and what it hands back."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from cogov.core.text import FreeText
from cogov.core.types import Channel
from cogov.intake.models import Case

DESCRIPTION_MAX = 4_000  # Open311 GeoReport v2's limit
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PHONE_PATTERN = re.compile(r"^\+?[0-9 ().\-]{5,32}$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
URL_PATTERN = re.compile(r"^https?://[^\s]{3,2000}$")

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
# A name the citizen (or staff for them) types: the same length, and cogov.core.text's rule.
NameText = Annotated[FreeText, StringConstraints(strip_whitespace=True, max_length=200)]


class ServiceRequestIn(BaseModel):
    """A request as an Open311 GeoReport v2 client (or a form, or staff) sends it,
    plus channel, language and the group attributes the agency records."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    service_code: str = Field(min_length=1, max_length=64)
    description: FreeText = Field(min_length=1, max_length=DESCRIPTION_MAX)
    lat: float | None = Field(default=None, ge=-90.0, le=90.0)
    long: float | None = Field(default=None, ge=-180.0, le=180.0)
    address_string: FreeText | None = Field(default=None, max_length=500)
    address_id: str | None = Field(default=None, max_length=128)
    media_url: FreeText | None = Field(default=None, max_length=2000)
    email: FreeText | None = Field(default=None, max_length=320)
    device_id: ShortText | None = None
    account_id: ShortText | None = None
    first_name: NameText | None = None
    last_name: NameText | None = None
    phone: str | None = Field(default=None, max_length=64)
    # Open311 attribute[code]=value; a multivaluelist answer is a list of keys.
    attribute: dict[str, str | list[str]] = Field(default_factory=dict)
    channel: Channel = Channel.WEB
    language: str | None = Field(default=None, max_length=16)
    # Group attributes the agency chose to record (see groups.yaml); optional.
    group: dict[str, str | bool] = Field(default_factory=dict)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL_PATTERN.match(value):
            raise ValueError("is not an e-mail address")
        return value or None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not PHONE_PATTERN.match(value):
            raise ValueError("is not a telephone number (digits, spaces, + ( ) . -)")
        return value or None

    @field_validator("media_url")
    @classmethod
    def _media_url(cls, value: str | None) -> str | None:
        if value is not None and not URL_PATTERN.match(value):
            raise ValueError("must be an http or https URL")
        return value or None

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and not LANGUAGE_PATTERN.match(value):
            raise ValueError("must be a language tag such as 'en' or 'zh-CN'")
        return value or None

    def contact(self) -> dict[str, str]:
        """The contact details given, if any (they go to the vault, nowhere else)."""
        fields = ("email", "phone", "first_name", "last_name", "device_id", "account_id")
        return {name: value for name in fields if (value := getattr(self, name))}


class CaseRead(BaseModel):
    """A case as other packages see it: no contact details."""

    model_config = ConfigDict(frozen=True)

    id: str
    service_code: str
    description: str
    language: str | None
    channel: Channel
    latitude: float | None
    longitude: float | None
    address_string: str | None
    address_id: str | None
    address_key: str | None
    media_url: str | None
    attributes: dict[str, Any]
    group_attributes: dict[str, Any]
    entered_by: str | None
    source_ref: str | None
    received_at: str

    @property
    def assisted(self) -> bool:
        """Staff entered it for the citizen."""
        return self.entered_by is not None

    @classmethod
    def of(cls, row: Case) -> CaseRead:
        return cls(
            id=row.id,
            service_code=row.service_code,
            description=row.description,
            language=row.language,
            channel=Channel(row.channel),
            latitude=row.latitude,
            longitude=row.longitude,
            address_string=row.address_string,
            address_id=row.address_id,
            address_key=row.address_key,
            media_url=row.media_url,
            attributes=json.loads(row.attributes),
            group_attributes=json.loads(row.group_attributes),
            entered_by=row.entered_by,
            source_ref=row.source_ref,
            received_at=row.received_at,
        )


class ContactRead(BaseModel):
    """What the vault holds for one case (only for sending the citizen updates)."""

    model_config = ConfigDict(frozen=True)

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    device_id: str | None = None
    account_id: str | None = None


class CaseRating(BaseModel):
    """A citizen's rating of how their case was handled (its ``case.rated`` ledger entry)."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    score: int
    rated_at: str
    ledger_seq: int


@dataclass(frozen=True, slots=True)
class Submission:
    """The answer to a submission. ``citizen_token`` lets the citizen follow and
    appeal their case; only its hash is stored. ``replayed`` is True when the
    idempotency key matched an earlier identical submission (same case, no new one)."""

    case: CaseRead
    citizen_token: str
    replayed: bool

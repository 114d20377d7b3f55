"""Shared vocabulary used by several domain packages."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Staff roles. Citizens are not staff: they hold a per-request secret."""

    ADMINISTRATOR = "administrator"
    REVIEWER = "reviewer"  # guardians are reviewers named on a filing
    FIELD_STAFF = "field_staff"
    AUDITOR = "auditor"


class Grade(StrEnum):
    """Impact grade of a digital employee (I low ... IV highest)."""

    I = "I"  # noqa: E741 - the grade's official name
    II = "II"
    III = "III"
    IV = "IV"


class Channel(StrEnum):
    """How a request reached the agency. Assisted channels are first-class."""

    WEB = "web"
    APP = "app"
    PHONE = "phone"
    COUNTER = "counter"
    SMS = "sms"
    OPEN311 = "open311"
    EMAIL = "email"
    OTHER = "other"

    @property
    def assisted(self) -> bool:
        """Staff entered the request for the citizen."""
        return self in (Channel.PHONE, Channel.COUNTER)

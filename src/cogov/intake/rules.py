"""Pure rules of intake: checks against the catalogue, place keys, the request
hash behind idempotency, and citizen tokens. Plain values in and out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from datetime import datetime
from typing import Any

from cogov.core.canonical import canonical_json, sha256_hex
from cogov.core.text import control_character_problem
from cogov.intake.catalogue import AttributeType, GroupAttributes, ServiceDefinition
from cogov.intake.schemas import ServiceRequestIn

TOKEN_BYTES = 24  # 192 bits: not guessable, short enough for a link
#: A citizen's rating of how their request was handled: whole stars, lowest to highest.
LOWEST_SCORE, HIGHEST_SCORE = 1, 5
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NON_WORD = re.compile(r"[^0-9A-Z\u3400-\u9fff]+")
_ABBREVIATIONS = {
    "STREET": "ST",
    "AVENUE": "AVE",
    "ROAD": "RD",
    "BOULEVARD": "BLVD",
    "PLACE": "PL",
    "DRIVE": "DR",
    "EAST": "E",
    "WEST": "W",
    "NORTH": "N",
    "SOUTH": "S",
}


def check_request(
    request: ServiceRequestIn, service: ServiceDefinition, groups: GroupAttributes
) -> list[tuple[str, str]]:
    """Every problem of a request against its service definition and the agency's
    group attributes, as (field, reason) pairs; empty when it is acceptable."""
    problems: list[tuple[str, str]] = []
    if (request.lat is None) != (request.long is None):
        problems.append(("lat" if request.lat is None else "long", "lat and long come together"))
    has_place = request.lat is not None or bool(request.address_string) or bool(request.address_id)
    if service.location_required and not has_place:
        problems.append(
            (
                "address_string",
                f"service {service.code!r} needs lat/long, address_string or address_id",
            )
        )
    problems += _check_attributes(request.attribute, service)
    problems += _check_groups(request.group, groups)
    return problems


def _check_attributes(
    answers: dict[str, str | list[str]], service: ServiceDefinition
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    defined = {attribute.code: attribute for attribute in service.attributes}
    for code in answers:
        if code not in defined:
            problems.append(
                (f"attribute[{code}]", f"service {service.code!r} has no such attribute")
            )
    for code, attribute in defined.items():
        field = f"attribute[{code}]"
        answer = answers.get(code)
        if answer in (None, "", []):
            if attribute.required:
                problems.append((field, "is required by this service"))
            continue
        values = answer if isinstance(answer, list) else [answer]
        if attribute.datatype is not AttributeType.MULTI and len(values) > 1:
            problems.append((field, "takes one value"))
            continue
        for value in values:
            reason = _check_value(attribute.datatype, value, attribute.keys)
            if reason:
                problems.append((field, reason))
    return problems


def _check_value(datatype: AttributeType, value: str, keys: frozenset[str]) -> str | None:
    if problem := control_character_problem(value):  # a text answer is typed text
        return problem
    if datatype in (AttributeType.SINGLE, AttributeType.MULTI):
        return None if value in keys else f"{value!r} is not one of {', '.join(sorted(keys))}"
    if datatype is AttributeType.NUMBER:
        try:
            float(value)
        except ValueError:
            return f"{value!r} is not a number"
    if datatype is AttributeType.DATETIME:
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return f"{value!r} is not an ISO-8601 date and time"
    limit = 4_000 if datatype is AttributeType.TEXT else 500
    if len(value) > limit:
        return f"must be at most {limit} characters"
    return None


def _check_groups(given: dict[str, str | bool], groups: GroupAttributes) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for name, value in given.items():
        field = f"group.{name}"
        spec = groups.by_name.get(name)
        if spec is None:
            recorded = ", ".join(groups.names) or "none"
            problems.append((field, f"not a group attribute this agency records ({recorded})"))
        elif spec.type == "boolean" and not isinstance(value, bool):
            problems.append((field, "must be true or false"))
        elif spec.type == "choice" and value not in spec.values:
            problems.append((field, f"{value!r} is not one of {', '.join(spec.values)}"))
    return problems


def address_key(
    address_string: str | None,
    address_id: str | None,
    lat: float | None,
    long: float | None,
) -> str | None:
    """A normalised key of the place (not of a person), so two reports of the same
    spot match: the agency's address id, else the cleaned address, else a ~10 m grid."""
    if address_id:
        return f"id:{address_id.strip().upper()}"[:200]
    if address_string:
        text = unicodedata.normalize("NFKC", address_string).upper()
        words = [_ABBREVIATIONS.get(word, word) for word in _NON_WORD.sub(" ", text).split()]
        if words:
            return ("addr:" + " ".join(words))[:200]
    if lat is not None and long is not None:
        return f"geo:{lat:.4f},{long:.4f}"
    return None


def guess_language(text: str) -> str | None:
    """'zh' when at least half the text's letters (``str.isalpha``) are Chinese
    characters; otherwise unknown (None): better no label than a wrong one.

    Counted in C-level passes over the whole text (the share depends on all of it):
    ASCII text has no Chinese letter, so it is never 'zh'; otherwise ``str.isalpha``
    is mapped over the text and over the Chinese-range characters the regex finds."""
    if text.isascii():
        return None
    letters = sum(map(str.isalpha, text))
    if not letters:
        return None
    cjk = sum(map(str.isalpha, _CJK.findall(text)))
    return "zh" if cjk * 2 >= letters else None


def request_hash(request: ServiceRequestIn, *, entered_by: str | None) -> str:
    """SHA-256 of the canonical request: the same body always hashes the same."""
    body: dict[str, Any] = request.model_dump(mode="json")
    body["entered_by"] = entered_by
    return sha256_hex(canonical_json(body))


def citizen_token(key: bytes, case_id: str) -> str:
    """The citizen's secret for one case: an HMAC of the case id under the agency's
    token key, so a retried submission gets the same token without storing it."""
    digest = hmac.new(key, case_id.encode(), hashlib.sha256).digest()[:TOKEN_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_hash(token: str) -> str:
    return sha256_hex(token)


def score_problem(score: object) -> str | None:
    """Why ``score`` is not a rating (None when it is one): a whole number of stars
    from LOWEST_SCORE to HIGHEST_SCORE (True/False are not numbers here)."""
    match score:
        case bool():
            pass
        case int() if LOWEST_SCORE <= score <= HIGHEST_SCORE:
            return None
    return f"must be a whole number from {LOWEST_SCORE} to {HIGHEST_SCORE}"

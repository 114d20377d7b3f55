from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cogov.core.clock import FixedClock
from cogov.intake import (
    CaseNotFound,
    IdempotencyConflict,
    IntakeConfig,
    InvalidRequest,
    case_for_token,
    contact_for,
    erase_contact,
    get_case,
    load_catalogue,
    load_group_attributes,
    submit,
)
from cogov.intake.models import Case, CaseContact
from cogov.intake.vault import VaultKeyring
from cogov.ledger import LedgerEntry

CLOCK = FixedClock(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
CONFIG = IntakeConfig(
    catalogue=load_catalogue(),
    groups=load_group_attributes(),
    token_key=b"k" * 32,
    vault=VaultKeyring.generate(),
)
VAULT = CONFIG.vault
assert VAULT is not None


def body(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "service_code": "pothole",
        "description": "Deep pothole in the bus lane outside number 12",
        "lat": 40.7128,
        "long": -74.006,
        "email": "ada@example.org",
        "phone": "+1 212 555 0100",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "attribute": {"size": "large"},
        "group": {"age_band": "65_plus", "needs_assistance": True},
    }
    request.update(overrides)
    return request


def ledger(session: Session) -> list[LedgerEntry]:
    return list(session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)))


class TestSubmit:
    def test_stores_the_case_and_keeps_contact_in_the_vault(self, db_session: Session) -> None:
        submission = submit(db_session, body(), config=CONFIG, clock=CLOCK)
        case = submission.case
        assert case.service_code == "pothole"
        assert case.group_attributes == {"age_band": "65_plus", "needs_assistance": True}
        assert case.address_key == "geo:40.7128,-74.0060"
        assert case.received_at == "2026-03-01T09:30:00.000000Z"
        row = db_session.get(Case, case.id)
        assert row is not None
        stored = " ".join(str(v) for v in vars(row).values())
        assert "ada@example.org" not in stored
        assert "Lovelace" not in stored
        vault = db_session.get(CaseContact, case.id)
        assert vault is not None
        assert vault.email is None  # sealed: the plaintext columns stay empty
        assert vault.key_id == VAULT.current
        assert vault.sealed is not None
        assert b"ada@example.org" not in vault.sealed
        contact = contact_for(db_session, case_id=case.id, vault=VAULT)
        assert contact is not None
        assert contact.last_name == "Lovelace"

    def test_appends_case_received_without_personal_data(self, db_session: Session) -> None:
        submission = submit(db_session, body(), config=CONFIG, clock=CLOCK)
        (entry,) = ledger(db_session)
        assert entry.kind == "case.received"
        assert entry.case_id == submission.case.id
        payload = json.loads(entry.payload)
        assert payload["service_code"] == "pothole"
        assert payload["has_contact"] is True
        assert payload["group_attributes_recorded"] == ["age_band", "needs_assistance"]
        text = entry.payload + entry.responsible + entry.actor
        for secret in ("ada@example.org", "555", "Lovelace", "65_plus"):
            assert secret not in text

    def test_citizen_token_opens_the_case_and_only_its_hash_is_stored(
        self, db_session: Session
    ) -> None:
        submission = submit(db_session, body(), config=CONFIG)
        row = db_session.get(Case, submission.case.id)
        assert row is not None
        assert submission.citizen_token not in row.citizen_token_hash
        assert case_for_token(db_session, token=submission.citizen_token).id == row.id
        with pytest.raises(CaseNotFound) as caught:
            case_for_token(db_session, token="not-a-token")
        assert "not-a-token" not in caught.value.message

    def test_assisted_entry_names_the_staff_user(self, db_session: Session) -> None:
        submission = submit(
            db_session, body(channel="counter"), config=CONFIG, entered_by="clerk.li"
        )
        assert submission.case.assisted
        assert submission.case.entered_by == "clerk.li"
        (entry,) = ledger(db_session)
        assert entry.actor == "user:clerk.li"
        assert json.loads(entry.responsible) == {"operator": "clerk.li"}
        assert json.loads(entry.payload)["assisted"] is True

    def test_chinese_text_is_labelled_zh(self, db_session: Session) -> None:
        submission = submit(
            db_session,
            body(
                service_code="noise",
                description="楼下商铺每晚放音乐到凌晨两点",
                lat=None,
                long=None,
                attribute={},
            ),
            config=CONFIG,
        )
        assert submission.case.language == "zh"

    def test_4000_characters_pass_and_4001_are_refused(self, db_session: Session) -> None:
        submit(db_session, body(description="x" * 4000), config=CONFIG)
        with pytest.raises(InvalidRequest) as caught:
            submit(db_session, body(description="x" * 4001), config=CONFIG)
        assert caught.value.field == "description"


class TestValidation:
    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"service_code": "no_such_service"}, "service_code"),
            ({"description": "   "}, "description"),
            ({"lat": 91.0}, "lat"),
            ({"long": None}, "long"),
            ({"lat": None, "long": None}, "address_string"),
            ({"email": "not-an-email"}, "email"),
            ({"phone": "call me maybe"}, "phone"),
            ({"media_url": "ftp://x.org/a.jpg"}, "media_url"),
            ({"attribute": {"size": "huge"}}, "attribute[size]"),
            ({"attribute": {"colour": "red"}}, "attribute[colour]"),
            ({"group": {"age_band": "old"}}, "group.age_band"),
            ({"group": {"religion": "x"}}, "group.religion"),
            ({"group": {"needs_assistance": "yes"}}, "group.needs_assistance"),
            ({"channel": "pigeon"}, "channel"),
            ({"language": "English!"}, "language"),
            ({"surprise": 1}, "surprise"),
        ],
    )
    def test_names_the_field(
        self, db_session: Session, overrides: dict[str, Any], field: str
    ) -> None:
        with pytest.raises(InvalidRequest) as caught:
            submit(db_session, body(**overrides), config=CONFIG)
        assert field in [f for f, _ in caught.value.problems]
        assert db_session.scalars(select(Case)).first() is None
        assert ledger(db_session) == []

    @pytest.mark.parametrize(
        ("description", "problem"),
        [
            ("Sofa\x00 on the kerb", "contains a control character U+0000 at position 5"),
            ("Bell\x07", "contains a control character U+0007 at position 5"),
            ("\x1b[2JGone", "contains a control character U+001B at position 1"),
            ("C1 \x85 next line", "contains a control character U+0085 at position 4"),
        ],
    )
    def test_a_description_with_a_control_character_is_refused(
        self, db_session: Session, description: str, problem: str
    ) -> None:
        with pytest.raises(InvalidRequest) as caught:
            submit(db_session, body(description=description), config=CONFIG)
        assert list(caught.value.problems) == [("description", problem)]
        assert db_session.scalars(select(Case)).first() is None
        assert ledger(db_session) == []

    @pytest.mark.parametrize(
        ("overrides", "field", "problem"),
        [
            # U+001C-U+001F and U+0085 are white space to str.strip(): refused, not trimmed.
            ({"address_string": "12 Main St\x1f"}, "address_string", "U+001F at position 11"),
            ({"first_name": "\x85Ada"}, "first_name", "U+0085 at position 1"),
            ({"last_name": "Love\x1b[8mlace"}, "last_name", "U+001B at position 5"),
            # Their patterns let a control character through (\s is not one of them).
            ({"email": "ada\x07@example.org"}, "email", "U+0007 at position 4"),
            ({"media_url": "https://x.org/a\x7f.jpg"}, "media_url", "U+007F at position 16"),
            (
                {"service_code": "abandoned_vehicle", "attribute": {"plate": "AB\x071"}},
                "attribute[plate]",
                "U+0007 at position 3",
            ),
        ],
    )
    def test_addresses_names_and_answers_with_a_control_character_are_refused(
        self, db_session: Session, overrides: dict[str, Any], field: str, problem: str
    ) -> None:
        with pytest.raises(InvalidRequest) as caught:
            submit(db_session, body(**overrides), config=CONFIG)
        assert list(caught.value.problems) == [(field, f"contains a control character {problem}")]
        assert db_session.scalars(select(Case)).first() is None
        assert ledger(db_session) == []

    def test_a_description_keeps_tabs_and_line_breaks(self, db_session: Session) -> None:
        case = submit(db_session, body(description="Two\tsofas\r\nby the bins"), config=CONFIG)
        assert case.case.description == "Two\tsofas\r\nby the bins"

    def test_lists_every_problem(self, db_session: Session) -> None:
        with pytest.raises(InvalidRequest) as caught:
            submit(db_session, body(email="x", phone="y"), config=CONFIG)
        assert {f for f, _ in caught.value.problems} == {"email", "phone"}
        assert "phone" in caught.value.message

    def test_required_attribute(self, db_session: Session) -> None:
        catalogue = load_catalogue().model_copy()
        service = catalogue.get("street_light")
        assert service is not None
        required = service.attributes[0].model_copy(update={"required": True})
        strict_service = service.model_copy(update={"attributes": (required,)})
        strict = type(catalogue)(
            services=tuple(
                strict_service if s.code == "street_light" else s for s in catalogue.services
            )
        )
        config = IntakeConfig(catalogue=strict, groups=CONFIG.groups, token_key=CONFIG.token_key)
        with pytest.raises(InvalidRequest) as caught:
            submit(db_session, body(service_code="street_light", attribute={}), config=config)
        assert caught.value.field == "attribute[pole_number]"


class TestIdempotency:
    def test_same_key_and_body_give_the_same_case_once(self, db_session: Session) -> None:
        first = submit(db_session, body(), config=CONFIG, idempotency_key="req-1")
        again = submit(db_session, body(), config=CONFIG, idempotency_key="req-1")
        assert again.replayed
        assert not first.replayed
        assert again.case.id == first.case.id
        assert again.citizen_token == first.citizen_token
        assert len(db_session.scalars(select(Case)).all()) == 1
        assert [e.kind for e in ledger(db_session)] == ["case.received"]

    def test_same_key_with_another_body_is_a_conflict(self, db_session: Session) -> None:
        first = submit(db_session, body(), config=CONFIG, idempotency_key="req-2")
        with pytest.raises(IdempotencyConflict) as caught:
            submit(
                db_session,
                body(description="something else"),
                config=CONFIG,
                idempotency_key="req-2",
            )
        assert caught.value.case_id == first.case.id
        assert "idempotency_key" in caught.value.message

    def test_key_length_is_checked(self, db_session: Session) -> None:
        with pytest.raises(InvalidRequest) as caught:
            submit(db_session, body(), config=CONFIG, idempotency_key="k" * 129)
        assert caught.value.field == "idempotency_key"


class TestEraseContact:
    def test_erases_the_vault_row_and_records_it(self, db_session: Session) -> None:
        case = submit(db_session, body(), config=CONFIG).case
        assert erase_contact(db_session, case_id=case.id, by="dpo", reason="citizen asked")
        assert contact_for(db_session, case_id=case.id, vault=VAULT) is None
        assert get_case(db_session, case_id=case.id).id == case.id
        assert ledger(db_session)[-1].kind == "case.contact_erased"
        assert not erase_contact(db_session, case_id=case.id, by="dpo", reason="again")

    def test_needs_a_reason(self, db_session: Session) -> None:
        case = submit(db_session, body(), config=CONFIG).case
        with pytest.raises(InvalidRequest):
            erase_contact(db_session, case_id=case.id, by="dpo", reason=" ")
        with pytest.raises(InvalidRequest) as caught:
            erase_contact(db_session, case_id=case.id, by="dpo", reason="asked\x7f")
        assert list(caught.value.problems) == [
            ("reason", "contains a control character U+007F at position 6")
        ]
        assert contact_for(db_session, case_id=case.id, vault=VAULT) is not None

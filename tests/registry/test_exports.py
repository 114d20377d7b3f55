"""Public register data and exports; each export validates against its JSON Schema."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator, ValidationError
from sqlalchemy.orm import Session

from cogov.core.types import Grade
from cogov.registry import (
    InvalidRegistryInput,
    export_register,
    export_schema,
    pause_agent,
    public_register,
    retire,
)
from cogov.registry.exports import validate_export

from .conftest import WalkTo


class TestPublicRegister:
    def test_lists_only_active_agents_in_plain_language(
        self, db_session: Session, walk_to: WalkTo
    ) -> None:
        walk_to("active")
        walk_to("submitted", agent_id="draft-agent")
        [entry] = public_register(db_session)
        assert entry.agent_id == "router-agent"
        assert entry.grade is Grade.II
        assert entry.summary.startswith("An AI assistant reads each request")
        assert "a person decides" in entry.human_oversight_en
        assert entry.human_oversight_zh.endswith("。")
        assert entry.has_guardian_on_duty
        assert not entry.paused
        assert entry.active_since is not None
        assert "appeal" in entry.how_to_appeal

    def test_shows_a_paused_agent_as_paused(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("active")
        pause_agent(db_session, agent_id="router-agent", by="g.chen", reason="check")
        assert public_register(db_session)[0].paused


class TestSchemas:
    @pytest.mark.parametrize("fmt", ["atrs", "algoritmeregister"])
    def test_shipped_schemas_are_valid_json_schemas(self, fmt: str) -> None:
        Draft202012Validator.check_schema(export_schema(fmt))


class TestExports:
    @pytest.mark.parametrize("grade", ["I", "II", "III"])
    def test_atrs_records_validate(self, db_session: Session, walk_to: WalkTo, grade: str) -> None:
        walk_to("approved", grade=grade)
        [record] = export_register(db_session, fmt="atrs")  # type: ignore[misc]
        validate_export("atrs", record)
        assert record["tier_1"]["name"] == "Request router"
        assert record["tier_2"]["description"]["phase"] == "development"
        assert record["metadata"]["grade"] == grade
        assessment = record["tier_2"]["risk_mitigation_and_impact_assessment"]
        assert f"grade {grade}" in assessment["impact_assessment_description"]

    def test_atrs_risks_come_from_the_answers(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("active")
        [record] = export_register(db_session, fmt="atrs")  # type: ignore[misc]
        risks = record["tier_2"]["risk_mitigation_and_impact_assessment"]["risks"]
        assert {r["risk_name"] for r in risks} >= {"What does the agent's output affect, at most?"}
        assert record["tier_2"]["description"]["phase"] == "production"

    def test_algoritmeregister_records_validate(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("active")
        [record] = export_register(db_session, fmt="algoritmeregister")  # type: ignore[misc]
        validate_export("algoritmeregister", record)
        assert record["status"] == "In gebruik"
        assert record["publication_category"] == "overige algoritmes"
        assert record["begin_date"] == "2026-11"
        assert "end_date" not in record

    def test_retired_agent_is_published_out_of_use(
        self, db_session: Session, walk_to: WalkTo
    ) -> None:
        walk_to("active", grade="I")
        retire(db_session, agent_id="router-agent", by="admin", reason="replaced by staff")
        [record] = export_register(db_session, fmt="algoritmeregister")  # type: ignore[misc]
        validate_export("algoritmeregister", record)
        assert record["status"] == "Buiten gebruik"
        assert record["end_date"] == "2026-11"
        [atrs] = export_register(db_session, fmt="atrs")  # type: ignore[misc]
        assert atrs["tier_2"]["description"]["phase"] == "retired"

    def test_drafts_are_not_published(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("submitted")
        assert export_register(db_session, fmt="atrs") == []
        assert "No agent has an approved filing yet." in str(
            export_register(db_session, fmt="markdown")
        )

    def test_markdown_for_people(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("active")
        text = export_register(db_session, fmt="markdown", agent_id="router-agent")
        assert isinstance(text, str)
        assert text.startswith("# Register of digital employees")
        assert "## Request router (`router-agent`, version 1)" in text
        assert "**How to object or appeal.**" in text

    def test_a_broken_record_fails_its_schema(self, db_session: Session, walk_to: WalkTo) -> None:
        walk_to("active")
        [record] = export_register(db_session, fmt="atrs")  # type: ignore[misc]
        del record["tier_1"]["name"]
        with pytest.raises(ValidationError):
            validate_export("atrs", record)

    def test_unknown_format(self, db_session: Session, walk_to: WalkTo) -> None:
        with pytest.raises(InvalidRegistryInput, match="format: 'pdf' is not one of"):
            export_register(db_session, fmt="pdf")

"""Filing files: YAML checked against the JSON Schema shipped in the package, with
each error naming its field path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cogov.registry import FilingInvalid, load_filing_file, load_filing_text, parse_filing

from .conftest import EXAMPLE, filing_data


def problems(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(FilingInvalid) as caught:
        parse_filing(data)
    return caught.value.problems


class TestFilingFile:
    def test_the_shipped_example_is_valid(self) -> None:
        document = load_filing_file(EXAMPLE)
        assert document.agent_id == "router-agent"
        assert document.security_assessment.date == "2026-10-02"  # YAML date kept as text

    def test_missing_guardian(self) -> None:
        data = filing_data()
        del data["guardian"]
        assert problems(data) == [("guardian", "required")]
        with pytest.raises(FilingInvalid, match=r"^guardian: required$"):
            parse_filing(data)

    def test_nested_missing_field_has_its_path(self) -> None:
        data = filing_data()
        del data["developer"]["organisation"]
        assert ("developer.organisation", "required") in problems(data)

    def test_every_problem_is_named_at_once(self) -> None:
        data = filing_data(algorithm_type="magic", confidence_threshold=1.5)
        del data["appeal"]
        found = dict(problems(data))
        assert found["appeal"] == "required"
        assert "'magic' is not one of" in found["algorithm_type"]
        assert "confidence_threshold" in found

    @pytest.mark.parametrize(
        ("changes", "field", "reason"),
        [
            ({"agent_id": "Router Agent"}, "agent_id", "not in the expected form"),
            ({"services": []}, "services", "must not be empty"),
            ({"services": ["noise", 5]}, "services[1]", "must be of type string"),
            ({"guardian": "G Chen"}, "guardian", "not in the expected form"),
            ({"colour": "blue"}, "colour", "not a known field"),
            ({"purpose": "   "}, "purpose", "not in the expected form"),
            ({"website": "ftp://x"}, "website", "not in the expected form"),
        ],
    )
    def test_field_errors(self, changes: dict[str, Any], field: str, reason: str) -> None:
        found = dict(problems(filing_data(**changes)))
        assert reason in found[field]

    def test_a_control_character_in_any_text_is_named(self) -> None:
        # YAML refuses most of them itself; a filing sent as JSON does not.
        data = filing_data(purpose="Routes\x1b[8m requests")
        data["impact_assessment"]["notes"] = "ok\x07"
        data["services"] = ["noise", "pot\x00holes"]
        found = problems(data)
        assert ("purpose", "contains a control character U+001B at position 7") in found
        assert ("impact_assessment.notes", "contains a control character U+0007 at position 3") in (
            found
        )
        assert ("services[1]", "contains a control character U+0000 at position 4") in found

    def test_bad_hash_is_named(self) -> None:
        data = filing_data()
        data["model"]["hash"] = "abc"
        assert ("model.hash", "'abc' is not in the expected form") in problems(data)

    def test_bad_security_status_is_named(self) -> None:
        data = filing_data()
        data["security_assessment"]["status"] = "probably fine"
        assert dict(problems(data))["security_assessment.status"].startswith("'probably fine'")

    def test_not_a_map(self) -> None:
        assert problems(["a", "list"]) == [
            ("$", "a filing is a map of fields (see docs/registry.md)")
        ]

    def test_broken_yaml_names_the_line(self) -> None:
        with pytest.raises(FilingInvalid, match=r"^line 2: not valid YAML"):
            load_filing_text("agent_id: x\n  bad: [unclosed\n")

    def test_a_character_yaml_refuses_is_one_line(self) -> None:
        with pytest.raises(FilingInvalid) as caught:
            load_filing_text("agent_id: x\x00\n")
        assert caught.value.message.startswith("$: not valid YAML: unacceptable character #x0000")
        assert "\n" not in caught.value.message

    def test_a_file_that_is_not_text(self, tmp_path: Path) -> None:
        path = tmp_path / "f.yaml"
        path.write_bytes(b"\xff\xfe\x00garbage")
        with pytest.raises(FilingInvalid, match=r"^\$: not UTF-8 text \(byte 0\)$"):
            load_filing_file(path)

    def test_round_trip_through_a_file(self, tmp_path: Path) -> None:
        path = tmp_path / "f.yaml"
        path.write_text(yaml.safe_dump(filing_data(name="Other")), encoding="utf-8")
        assert load_filing_file(path).name == "Other"

"""The hashing rule: canonical entry bytes that any JSON reader parses, injective
even for tampered rows, and the payload text equal to cogov's canonical JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cogov.core.canonical import canonical_json
from cogov.ledger.rules import GENESIS_HASH, entry_bytes, leaf_input, payload_text

COLUMNS = ("recorded_at", "kind", "case_id", "actor", "responsible", "payload", "prev_hash")


def fields(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "seq": 7,
        "recorded_at": "2026-01-02T03:04:05.000006Z",
        "kind": "case.received",
        "case_id": "c-1",
        "actor": "system:intake",
        "responsible": '{"guardian":"user:7"}',
        "payload": '{"text":"说 \\"hi\\""}',
        "prev_hash": GENESIS_HASH,
    }
    return base | changes


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


class TestEntryBytes:
    def test_is_a_json_array_of_the_columns(self) -> None:
        parsed = json.loads(entry_bytes(**fields()))
        assert parsed[:7] == [1, 7, "2026-01-02T03:04:05.000006Z", "case.received", "c-1",
                              "system:intake", GENESIS_HASH]  # fmt: skip
        assert parsed[8] == {"guardian": "user:7"}
        assert parsed[10] == {"text": '说 "hi"'}
        assert parsed[7] == len(fields()["responsible"])

    def test_leaf_input_is_the_rfc6962_leaf_prefix_and_the_bytes(self) -> None:
        values = fields()
        assert leaf_input(*values.values()) == b"\x00" + entry_bytes(**values)

    @settings(max_examples=300)
    @given(
        st.sampled_from(COLUMNS),
        st.sampled_from(COLUMNS),
        st.text(min_size=1, max_size=8),
        st.integers(min_value=0, max_value=8),
    )
    def test_moving_text_between_columns_changes_the_bytes(
        self, source: str, target: str, moved: str, cut: int
    ) -> None:
        # Tampering that shifts text from one column into another (with quotes,
        # backslashes or anything else) never reproduces the original bytes.
        original = fields()
        tampered = dict(original)
        tampered[source] = (original[source] or "") + moved
        tampered[target] = (tampered[target] or "")[cut:]
        if tampered != original:
            assert entry_bytes(**tampered) != entry_bytes(**original)

    def test_null_case_differs_from_the_text_null(self) -> None:
        assert entry_bytes(**fields(case_id=None)) != entry_bytes(**fields(case_id="null"))

    def test_quotes_inside_a_short_column_are_escaped(self) -> None:
        parsed = json.loads(entry_bytes(**fields(kind='a","b', actor="x\\")))
        assert parsed[3:6] == ['a","b', "c-1", "x\\"]


class TestPayloadText:
    @settings(max_examples=200)
    @given(st.dictionaries(st.text(), json_values, max_size=5))
    def test_equals_core_canonical_json(self, payload: dict[str, Any]) -> None:
        assert payload_text(payload) == canonical_json(payload)

    def test_refuses_what_json_cannot_carry(self) -> None:
        for value in (float("nan"), float("inf")):
            with pytest.raises(ValueError, match="not JSON compliant"):
                payload_text({"v": value})

"""The hashing rule: canonical entry bytes that any JSON reader parses, injective
even for tampered rows, and the payload text equal to cogov's canonical JSON."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cogov.core.canonical import canonical_json
from cogov.ledger.rules import (
    GENESIS_HASH,
    PERSONAL_KEYS,
    entry_bytes,
    find_personal_key,
    leaf_input,
    payload_text,
)

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


def reference_find_personal_key(value: Any, path: str = "") -> str | None:
    """The recursive scan find_personal_key replaced, kept as the reference."""
    if isinstance(value, (dict, Mapping)):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path or '$'}: map key {key!r} is not a string")
            where = f"{path}.{key}" if path else key
            if key.lower() in PERSONAL_KEYS:
                return where
            if isinstance(item, (dict, list, tuple, Mapping)):
                found = reference_find_personal_key(item, where)
                if found:
                    return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if isinstance(item, (dict, list, tuple, Mapping)):
                found = reference_find_personal_key(item, f"{path}[{index}]")
                if found:
                    return found
    return None


def _outcome(scan: Callable[[Any], str | None], value: Any) -> tuple[str, str | None]:
    try:
        return "found", scan(value)
    except ValueError as exc:
        return "error", str(exc)


payload_keys = (
    st.sampled_from(sorted(PERSONAL_KEYS)).map(str.upper)
    | st.sampled_from(sorted(PERSONAL_KEYS)).map(str.title)
    | st.sampled_from(sorted(PERSONAL_KEYS))
    | st.sampled_from(["action", "case_id", "confidence", "reason", "rules", "Name_x"])
    | st.text(max_size=8)
)
nested_payloads = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(payload_keys, inner, max_size=5)
        | st.dictionaries(payload_keys, inner, max_size=3).map(OrderedDict)
        | st.dictionaries(payload_keys, inner, max_size=3).map(MappingProxyType)
        | st.dictionaries(st.integers(0, 3) | payload_keys, inner, max_size=3)
    ),
    max_leaves=25,
)


class TestFindPersonalKey:
    """The quick scan answers exactly as the recursive one did: same path, same error."""

    @settings(max_examples=600)
    @given(nested_payloads, st.sampled_from(["", "payload"]))
    def test_same_answer_as_the_reference(self, value: Any, path: str) -> None:
        expected = _outcome(lambda v: reference_find_personal_key(v, path), value)
        # Twice: the second call meets the keys the first one remembered as clean.
        assert _outcome(lambda v: find_personal_key(v, path), value) == expected
        assert _outcome(lambda v: find_personal_key(v, path), value) == expected

    def test_names_the_first_personal_key_in_document_order(self) -> None:
        value = {"a": [{"ok": 1}, {"b": {"Email": "x"}}], "phone": "1"}
        assert find_personal_key(value) == "a[1].b.Email"
        assert find_personal_key([{"x": ({"name": 1},)}]) == "[0].x[0].name"

    def test_a_non_string_key_is_an_error_naming_its_path(self) -> None:
        with pytest.raises(ValueError, match=r"^a\[0\]: map key 3 is not a string"):
            find_personal_key({"a": [{3: "x"}]})

    def test_a_clean_payload_with_many_containers_is_clean(self) -> None:
        # More containers than the quick scan looks into: the walk answers.
        assert find_personal_key({"rows": [{"k": [i]} for i in range(6_000)]}) is None
        assert find_personal_key({"rows": [{"k": [i]} for i in range(6_000)] + [{"ssn": 1}]}) == (
            "rows[6000].ssn"
        )

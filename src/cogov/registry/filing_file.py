"""Read a filing from YAML and check it against the JSON Schema in the package,
with each error naming its field path (e.g. ``guardian: required``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from cogov.core.text import control_character_problem
from cogov.registry.errors import FilingInvalid
from cogov.registry.schemas import FilingDocument


@cache
def filing_schema() -> dict[str, Any]:
    text = resources.files("cogov.registry").joinpath("data/filing.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(filing_schema(), format_checker=FormatChecker())


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _join(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


def _problems(error: ValidationError) -> Iterator[tuple[str, str]]:
    where = _path(error.absolute_path)
    instance = error.instance
    expected: Any = error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "required" and isinstance(instance, dict):
        for key in expected:
            if key not in instance:
                yield _join(where, key), "required"
    elif error.validator == "additionalProperties" and isinstance(instance, dict):
        known = set(schema.get("properties", {}))
        for key in instance:
            if key not in known:
                yield _join(where, str(key)), "not a known field"
    elif error.validator == "enum":
        allowed = ", ".join(str(v) for v in expected)
        yield where or "$", f"{instance!r} is not one of: {allowed}"
    elif error.validator == "pattern":
        yield where or "$", f"{instance!r} is not in the expected form"
    elif error.validator in {"minLength", "minItems"}:
        yield where or "$", "must not be empty"
    elif error.validator in {"maxLength", "maxItems"}:
        yield where or "$", f"is longer than {expected}"
    elif error.validator == "type":
        yield where or "$", f"must be of type {expected}"
    else:
        yield where or "$", error.message


def _control_characters(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every text of the filing (a person wrote it all) holding a control character
    cogov refuses in typed text, by its field path."""
    if isinstance(value, str):
        if problem := control_character_problem(value):
            yield where or "$", problem
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _control_characters(item, _join(where, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _control_characters(item, f"{where}[{index}]")


def _plain(value: Any) -> Any:
    """YAML dates and times become ISO text, so the document is plain JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def parse_filing(data: Any) -> FilingDocument:
    """Validate a filing given as plain data; raise FilingInvalid naming each field."""
    data = _plain(data)
    if not isinstance(data, dict):
        raise FilingInvalid([("$", "a filing is a map of fields (see docs/registry.md)")])
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    problems: list[tuple[str, str]] = list(_control_characters(data))
    for error in errors:
        for problem in _problems(error):
            if problem not in problems:
                problems.append(problem)
    if problems:
        raise FilingInvalid(problems)
    return FilingDocument.model_validate(data)


def read_yaml_text(text: str) -> Any:
    """Parse YAML, or raise FilingInvalid naming the line and the problem in one line
    (a byte YAML refuses, e.g. NUL, is reported by its position)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "$"
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise FilingInvalid([(where, f"not valid YAML: {problem}")]) from None


def read_yaml_file(path: Path) -> Any:
    """A YAML file's data (a file that is not UTF-8 text is refused as FilingInvalid)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FilingInvalid([("$", f"not UTF-8 text (byte {exc.start})")]) from None
    return read_yaml_text(text)


def load_filing_text(text: str) -> FilingDocument:
    return parse_filing(read_yaml_text(text))


def load_filing_file(path: Path) -> FilingDocument:
    return parse_filing(read_yaml_file(path))

"""Reason codes as data: cogov's defaults (data/reason-codes.yaml), or the agency's
own ``review-reasons.yaml`` in ``COGOV_AGENCY_CONFIG_DIR``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from cogov.core.settings import Settings
from cogov.review.errors import ReasonCodesInvalid
from cogov.review.rules import ReasonCodes, parse_reason_codes

AGENCY_FILE = "review-reasons.yaml"


def load_reason_codes(path: Path | None = None) -> ReasonCodes:
    """Reason codes from ``path``, or cogov's defaults. Raises ReasonCodesInvalid
    naming the file and the field at fault."""
    if path is None:
        source = "cogov/review/data/reason-codes.yaml"
        text = (
            resources.files("cogov.review").joinpath("data", "reason-codes.yaml").read_text("utf-8")
        )
    else:
        source, text = str(path), path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ReasonCodesInvalid(source, f"{where}not valid YAML") from None
    try:
        return parse_reason_codes(data)
    except ValueError as exc:
        raise ReasonCodesInvalid(source, str(exc)) from None


def reason_codes_for(settings: Settings | None) -> ReasonCodes:
    """The agency's reason codes where it has its own file, else the defaults."""
    folder = settings.agency_config_dir if settings is not None else None
    if folder is not None and (folder / AGENCY_FILE).exists():
        return load_reason_codes(folder / AGENCY_FILE)
    return load_reason_codes()

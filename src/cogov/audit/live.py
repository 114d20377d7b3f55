"""Adapter (b): the case frame from the live database, read through the public
functions of intake (cases and their group attributes), control (workflows and
proposals) and the ledger (when cases closed, replies went out, appeals). Read
only: an audit never writes to a live case.

Column meaning (docs/audit.md): ``created_at`` the case's ``received_at``;
``routed_at`` when a department was first set; ``first_response_at`` when a
reply first took effect; ``closed_at`` the first step into ``closed``;
``handled_without_human`` every proposal took effect without a human;
``overridden`` a human edited or rejected a proposal; ``proposed_route`` /
``final_route`` the route proposal and the department in the end;
``appealed`` / ``appeal_upheld`` from the appeal entries of the ledger.
Group columns: ``channel``, ``language``, ``assisted`` (staff entered it for the
citizen) and each recorded group attribute (e.g. ``age_band``, ``needs_assistance``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import polars as pl
from sqlalchemy.orm import Session

from cogov.audit.frame import CASE_COLUMNS, CaseFrame, check_period, conform
from cogov.control import (
    ProposalRead,
    WorkflowRead,
    proposals_for_cases,
    workflows_for_cases,
)
from cogov.core.clock import iso_utc, parse_iso_utc
from cogov.intake import CaseRead, list_cases
from cogov.ledger import LedgerEntryRead, entries_for_cases

#: Columns every live frame carries besides the case columns, usable as groups.
LIVE_GROUPS: Final = ("channel", "language", "assisted")
#: Fetch cases in pages of this many (newest first).
PAGE: Final = 5_000
HUMAN_OUTCOMES: Final = frozenset({"approved", "edited", "rejected"})
#: The ledger entries a frame row reads: closing, replies, appeals.
FRAME_KINDS: Final = ("case.transitioned", "proposal.applied", "appeal.filed", "appeal.decided")


def frame_from_database(
    session: Session,
    *,
    groups: Sequence[str] = (),
    received_from: datetime | None = None,
    received_to: datetime | None = None,
) -> CaseFrame:
    """The case frame of every case received in the period (all when unbounded).
    ``groups``: columns to audit; by default channel, assisted and every group
    attribute the agency records."""
    check_period(received_from, received_to)
    cases = cases_in_period(session, received_from, received_to)
    ids = [case.id for case in cases]
    # Four reads for the whole period (ids bound in batches), not four per case.
    workflows = workflows_for_cases(session, case_ids=ids)
    proposals = proposals_for_cases(session, case_ids=ids)
    entries = entries_for_cases(session, ids, kinds=FRAME_KINDS)
    rows = [
        case_row(case, workflows.get(case.id), proposals[case.id], entries[case.id])
        for case in cases
    ]
    return frame_of_rows(rows, groups)


def frame_of_rows(rows: list[dict[str, Any]], groups: Sequence[str] = ()) -> CaseFrame:
    """The case frame of rows made by :func:`case_row` (their ``_groups`` are consumed)."""
    for row in rows:
        row["_groups"] = {_column_for(name): value for name, value in row["_groups"].items()}
    attributes = sorted({key for row in rows for key in row["_groups"]})
    table = pl.DataFrame(
        [
            {
                **{k: v for k, v in row.items() if k != "_groups"},
                **_group_values(row["_groups"], attributes),
            }
            for row in rows
        ],
        schema={
            **CASE_COLUMNS,
            "language": pl.String,
            "assisted": pl.String,
            **dict.fromkeys(attributes, pl.String),
        },
    )
    extra = ["language", "assisted", *attributes]
    chosen = tuple(groups) or ("channel", "assisted", *attributes)
    provided = frozenset(
        {
            "case_id",
            "created_at",
            "routed_at",
            "first_response_at",
            "closed_at",
            "service",
            "agent",
            "channel",
            "handled_without_human",
            "overridden",
            "appealed",
            "appeal_upheld",
            "proposed_route",
            "final_route",
            "duplicate_of",
        }
    )
    return CaseFrame(conform(table, extra), chosen, "the live database", provided)


def cases_in_period(
    session: Session, received_from: datetime | None, received_to: datetime | None
) -> list[CaseRead]:
    """Every case in the period, paging newest first by received time."""
    start = _iso(received_from)
    upper = _iso(received_to)
    seen: dict[str, CaseRead] = {}
    while True:
        page = list_cases(session, received_from=start, received_to=upper, limit=PAGE)
        fresh = [case for case in page if case.id not in seen]
        seen.update((case.id, case) for case in fresh)
        if len(page) < PAGE or not fresh:
            break
        # Next page: up to the oldest time seen (inclusive, so equal times are not lost).
        upper = page[-1].received_at
    return list(seen.values())


def _iso(moment: datetime | None) -> str | None:
    """Times as the case tables store them (ISO UTC text); a naive time is UTC."""
    if moment is None:
        return None
    return iso_utc(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _column_for(attribute: str) -> str:
    """A group attribute's column; one named like a case column gets a prefix."""
    taken = attribute in CASE_COLUMNS or attribute in LIVE_GROUPS
    return f"group_{attribute}" if taken else attribute


def _group_values(values: dict[str, Any], names: Sequence[str]) -> dict[str, str | None]:
    return {name: None if values.get(name) is None else str(values[name]).lower() for name in names}


def _time(text: str | None) -> datetime | None:
    return None if text is None else parse_iso_utc(text).replace(tzinfo=None)


def case_row(
    case: CaseRead,
    workflow: WorkflowRead | None,
    proposals: Sequence[ProposalRead],
    entries: Sequence[LedgerEntryRead],
) -> dict[str, Any]:
    """One frame row from the case's records (``entries``: at least FRAME_KINDS, oldest first)."""
    route = next((p for p in proposals if p.action == "route"), None)
    # Override rate is over the cases a human decided on: how often they disagreed.
    by_human = [p for p in proposals if p.outcome is not None and p.outcome.value in HUMAN_OUTCOMES]
    return {
        "case_id": case.id,
        "created_at": _time(case.received_at),
        "routed_at": _time(workflow.routed_at) if workflow else None,
        "first_response_at": _first_reply(entries),
        "closed_at": _first_into(entries, "closed"),
        "due_at": None,
        "service": case.service_code,
        "agent": proposals[0].agent_id if proposals else None,
        "channel": case.channel.value,
        "area": None,
        "handled_without_human": _without_human(proposals) if proposals else None,
        "overridden": any(p.outcome.value != "approved" for p in by_human if p.outcome)
        if by_human
        else None,
        "appealed": any(entry.kind == "appeal.filed" for entry in entries),
        "appeal_upheld": any(upheld(entry) for entry in entries),
        "proposed_route": route.value if route else None,
        "final_route": workflow.department if workflow else None,
        "duplicate_of": workflow.duplicate_of if workflow else None,
        "draft_seconds": None,
        "on_time": None,
        "language": case.language,
        "assisted": "yes" if case.assisted else "no",
        "_groups": dict(case.group_attributes),
    }


def _without_human(proposals: Sequence[ProposalRead]) -> bool:
    return all(p.outcome is not None and p.outcome.value == "applied" for p in proposals)


def _first_into(entries: Sequence[LedgerEntryRead], state: str) -> datetime | None:
    for entry in entries:
        if entry.kind == "case.transitioned" and entry.payload.get("to") == state:
            return _time(entry.recorded_at)
    return None


def _first_reply(entries: Sequence[LedgerEntryRead]) -> datetime | None:
    for entry in entries:
        if entry.kind == "proposal.applied" and entry.payload.get("action") == "draft_reply":
            return _time(entry.recorded_at)
    return None


def upheld(entry: LedgerEntryRead) -> bool:
    """An ``appeal.decided`` entry that upheld the appeal (the decision was wrong)."""
    if entry.kind != "appeal.decided":
        return False
    payload = entry.payload
    return payload.get("outcome") == "upheld" or payload.get("original_decision_wrong") is True

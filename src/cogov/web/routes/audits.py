"""Audit dashboards for auditors (a live audit of the database, with charts) and the
public page of published audit results.

Publishing writes the audit's own outputs (audit.json, CSV tables and the
self-contained HTML report, from :func:`cogov.audit.write_outputs`) under the data
directory and records an ``audit.published`` ledger entry naming the auditor and
the report's hash, in the same unit of work.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from cogov.api.auth import Principal, SignedInReadSession, require_roles
from cogov.api.deps import DbSession, app_state
from cogov.audit import AuditOptions, AuditReport, FairnessOptions, run_audit, write_outputs
from cogov.audit.errors import AuditError
from cogov.audit.live import frame_from_database
from cogov.core.errors import NotFound
from cogov.core.types import Role
from cogov.ledger import append
from cogov.web.audits import dashboard, group_label
from cogov.web.i18n import N_
from cogov.web.pages import Page, PageDep, ReadingPageDep

router = APIRouter()
Auditor = Annotated[Principal, Depends(require_roles(Role.AUDITOR, Role.ADMINISTRATOR))]
# The dashboard only reads: signed in before its read-only session.
AuditorReading = Annotated[
    Principal, Depends(require_roles(Role.AUDITOR, Role.ADMINISTRATOR, reading=True))
]
PUBLISHED_DIR = "published-audits"
# Bootstrap intervals cost time on every page view; published audits use more.
LIVE_REPLICATES = 200
PUBLISHED_REPLICATES = 1000
PERIODS = {"week": N_("Week"), "month": N_("Month"), "quarter": N_("Quarter")}
REFERENCES = {"largest": N_("The largest group"), "best": N_("The best-served group")}
AUDIT_ID = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")
# The HTML report styles itself inline and needs nothing else.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def _group_choices(page: Page) -> list[str]:
    groups = app_state(page.request).intake.groups.names
    return ["channel", "assisted", *groups]


def _live_report(
    session: Session, page: Page, groups: tuple[str, ...], period: str, reference: str,
    replicates: int,
) -> AuditReport:  # fmt: skip
    frame = frame_from_database(session, groups=groups)
    options = AuditOptions(
        fairness=FairnessOptions(reference=reference, replicates=replicates),
        period=period,  # type: ignore[arg-type]
        groups=groups,
    )
    return run_audit(frame, options=options, clock=app_state(page.request).clock)


def _checked(page: Page, groups: list[str], period: str, reference: str) -> tuple[
    tuple[str, ...], str, str
]:  # fmt: skip
    allowed = _group_choices(page)
    chosen = tuple(group for group in groups if group in allowed) or ("channel", "assisted")
    return (
        chosen,
        period if period in PERIODS else "month",
        (reference if reference in REFERENCES else "largest"),
    )


@router.get("/staff/audits")
def audit_dashboard(
    page: ReadingPageDep,
    session: SignedInReadSession,
    _auditor: AuditorReading,
    group: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI reads the default
    period: str = "month",
    reference: str = "largest",
) -> Response:
    groups, period, reference = _checked(page, group, period, reference)
    try:
        report = _live_report(session, page, groups, period, reference, LIVE_REPLICATES)
        board = dashboard(report.to_dict(), page.gettext)
        problem = None
    except AuditError as failed:
        board, problem = None, failed.message
    return page.render(
        "staff/audits.html",
        board=board,
        problem=problem,
        choices=[(name, group_label(name, page.gettext)) for name in _group_choices(page)],
        chosen=groups,
        periods=[(key, page.gettext(label)) for key, label in PERIODS.items()],
        period=period,
        references=[(key, page.gettext(label)) for key, label in REFERENCES.items()],
        reference=reference,
    )


def _published_root(page: Page) -> Path:
    return app_state(page.request).settings.data_dir / PUBLISHED_DIR


@router.post("/staff/audits/publish")
def publish_audit(
    page: PageDep,
    session: DbSession,
    auditor: Auditor,
    group: Annotated[list[str], Form()] = [],  # noqa: B006
    period: Annotated[str, Form()] = "month",
    reference: Annotated[str, Form()] = "largest",
) -> Response:
    groups, period, reference = _checked(page, group, period, reference)
    report = _live_report(session, page, groups, period, reference, PUBLISHED_REPLICATES)
    audit_id = report.generated_at.replace("-", "").replace(":", "")[:15] + "Z"
    folder = _published_root(page) / audit_id
    written = write_outputs(report, folder)
    digest = hashlib.sha256((folder / "audit.json").read_bytes()).hexdigest()
    append(
        session,
        kind="audit.published",
        actor=auditor.actor,
        payload={
            "audit_id": audit_id,
            "audit_json_sha256": digest,
            "cases": report.to_dict()["cases"],
            "groups": list(groups),
            "files": sorted(path.name for path in written),
        },
    )
    return page.redirect(f"/audits/{audit_id}")


def _published(page: Page) -> list[dict[str, Any]]:
    root = _published_root(page)
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir(), reverse=True):
        source = folder / "audit.json"
        if AUDIT_ID.match(folder.name) and source.is_file():
            data = json.loads(source.read_text(encoding="utf-8"))
            found.append(
                {
                    "id": folder.name,
                    "generated_at": data.get("generated_at"),
                    "cases": data.get("cases"),
                    "groups": [
                        group_label(result.get("group", ""), page.gettext)
                        for result in data.get("fairness") or []
                    ],
                    "flagged": sum(
                        1
                        for result in data.get("fairness") or []
                        for row in result.get("rows") or []
                        if row.get("flagged")
                    ),
                }
            )
    return found


@router.get("/audits")
def published_audits(page: PageDep) -> Response:
    return page.render("public/audits.html", audits=_published(page))


def _audit_folder(page: Page, audit_id: str) -> Path:
    folder = _published_root(page) / audit_id
    if not AUDIT_ID.match(audit_id) or not (folder / "audit.json").is_file():
        raise NotFound("published audit", audit_id)
    return folder


@router.get("/audits/{audit_id}")
def published_audit(page: PageDep, audit_id: str) -> Response:
    folder = _audit_folder(page, audit_id)
    data = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
    return page.render("public/audit.html", audit_id=audit_id, board=dashboard(data, page.gettext))


@router.get("/audits/{audit_id}/report.html")
def published_report(page: PageDep, audit_id: str) -> Response:
    """The audit's own self-contained HTML report, to read or hand on."""
    folder = _audit_folder(page, audit_id)
    return FileResponse(
        folder / "report.html",
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff"},
    )

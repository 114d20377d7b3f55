"""Publish filings in public register shapes: the UK Algorithmic Transparency
Recording Standard (ATRS), the Dutch Algoritmeregister publication standard, and
Markdown for people. JSON Schemas of the emitted shapes ship in data/ and the
tests validate every export against them.

Only versions that passed approval are published (the active version, else the
newest approved, suspended or retired one); drafts and submissions are not.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy.orm import Session

from cogov.registry import repository
from cogov.registry.errors import InvalidRegistryInput
from cogov.registry.grading import QuestionKind, load_questionnaire
from cogov.registry.obligations import obligations_for
from cogov.registry.rules import FilingStatus
from cogov.registry.schemas import AgentRead, ExportFormat, FilingRead
from cogov.registry.service import active_periods, get_agent, get_filing, list_agents

EXPORT_FORMATS: tuple[ExportFormat, ...] = ("atrs", "algoritmeregister", "markdown")
_PUBLISHED = {FilingStatus.APPROVED, FilingStatus.ACTIVE, FilingStatus.SUSPENDED,
              FilingStatus.RETIRED}  # fmt: skip
_ATRS_PHASE = {
    FilingStatus.APPROVED: "development",
    FilingStatus.ACTIVE: "production",
    FilingStatus.SUSPENDED: "production",
    FilingStatus.RETIRED: "retired",
}
_NL_STATUS = {
    FilingStatus.APPROVED: "In ontwikkeling",
    FilingStatus.ACTIVE: "In gebruik",
    FilingStatus.SUSPENDED: "In gebruik",
    FilingStatus.RETIRED: "Buiten gebruik",
}


@cache
def export_schema(fmt: str) -> dict[str, Any]:
    """The JSON Schema of one exported record (``atrs`` or ``algoritmeregister``)."""
    text = resources.files("cogov.registry").joinpath(f"data/{fmt}.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_export(fmt: str, record: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when ``record`` does not fit its schema."""
    Draft202012Validator(export_schema(fmt)).validate(record)


def published_filing(session: Session, agent: AgentRead) -> FilingRead | None:
    if agent.active_version is not None:
        return get_filing(session, agent_id=agent.agent_id, version=agent.active_version)
    for row in reversed(repository.filings(session, agent.agent_id)):
        if FilingStatus(row.status) in _PUBLISHED:
            return get_filing(session, agent_id=agent.agent_id, version=row.version)
    return None


def _risks(filing: FilingRead) -> tuple[list[dict[str, str]], str]:
    form = load_questionnaire()
    answers = filing.document.impact_assessment.answers
    risks: list[tuple[str, str]] = []
    mitigations: list[str] = []
    for question in form.questions:
        chosen = answers.get(question.id)
        ids = chosen if isinstance(chosen, list) else [chosen]
        picked = [a for a in question.answers if a.id in ids]
        if question.kind is QuestionKind.MITIGATION:
            mitigations.extend(a.text["en"] for a in picked)
        elif question.kind is QuestionKind.RISK:
            risks.extend((question.text["en"], a.text["en"]) for a in picked if a.points > 0)
    mitigation = "; ".join(mitigations) or "No safeguards recorded in the impact assessment."
    records = [
        {"risk_name": name, "risk_description": answer, "risk_mitigation": mitigation}
        for name, answer in risks
    ]
    return records, mitigation


def _assessment_text(filing: FilingRead) -> str:
    a = filing.assessment
    text = (
        f"cogov impact assessment (questionnaire v{a.questionnaire_version}, scored as "
        f"Canada's Algorithmic Impact Assessment): raw impact {a.raw_score}/{a.max_raw_score}, "
        f"mitigation {a.mitigation_score}/{a.max_mitigation_score}"
        f"{' (15% deducted)' if a.mitigation_deducted else ''}, current score "
        f"{a.current_score} = {a.share:.0%} of the maximum: grade {filing.grade}. "
        f"{obligations_for(filing.grade).summary_en}"
    )
    doc = filing.document
    text += f" Security assessment: {doc.security_assessment.status}"
    if doc.security_assessment.reference:
        text += f" ({doc.security_assessment.reference})"
    text += f". Ethics review: {doc.ethics_review.status}."
    return text


def to_atrs(filing: FilingRead) -> dict[str, Any]:
    doc = filing.document
    risks, _ = _risks(filing)
    tier_1: dict[str, Any] = {
        "name": doc.name,
        "description": doc.public_summary,
        "contact_email": doc.public_contact or doc.deployer.contact,
        "organisation": doc.deployer.organisation,
    }
    if doc.website:
        tier_1["website"] = doc.website
    description: dict[str, Any] = {
        "scope": f"{doc.purpose} Services in scope: {', '.join(doc.services)}.",
        "benefit": doc.purpose,
        "model_type": f"{doc.algorithm_type}: {doc.model.description}",
        "phase": _ATRS_PHASE[filing.status],
        "maintenance": doc.technical_detail,
    }
    if doc.model.version:
        description["model_version"] = doc.model.version
    assessment: dict[str, Any] = {
        "impact_assessment_name": "cogov algorithmic impact assessment",
        "impact_assessment_description": _assessment_text(filing),
        "risks": risks,
    }
    if doc.security_assessment.date:
        assessment["impact_assessment_date"] = doc.security_assessment.date
    return {
        "tier_1": tier_1,
        "tier_2": {
            "owner_and_responsibility": {
                "organisation": doc.deployer.organisation,
                "team": doc.operating_department,
                "senior_responsible_owner": doc.security_responsible,
                "external_supplier": doc.developer.organisation,
                "external_supplier_role": "Developed the algorithmic tool and its model.",
            },
            "description": description,
            "oversight": {
                "process_integration": doc.human_intervention,
                "provided_information": (
                    "Each output carries an explanation (the evidence that drove it) shown to "
                    "the reviewer and the citizen; drafted text is labelled AI-drafted."
                ),
                "human_decisions": (
                    f"{obligations_for(filing.grade).summary_en} Named guardian and backup "
                    "guardian can pause the tool at once."
                ),
                "appeals_and_review": doc.appeal,
            },
            "information_on_data": {
                "source_data_name": (
                    f"Training data snapshot {doc.training_data.snapshot_hash[:12]}"
                ),
                "source_data_description": doc.training_data.description,
                "data_collection": doc.training_data.description,
                "data_snapshot_sha256": doc.training_data.snapshot_hash,
            },
            "risk_mitigation_and_impact_assessment": assessment,
        },
        "metadata": {
            "agent_id": filing.agent_id,
            "version": filing.version,
            "grade": filing.grade.value,
            "status": filing.status.value,
            "filing_sha256": filing.document_hash,
        },
    }


def to_algoritmeregister(
    filing: FilingRead, periods: list[tuple[str, str | None]]
) -> dict[str, Any]:
    doc = filing.document
    _, mitigation = _risks(filing)
    impactful = filing.grade.value in ("III", "IV")
    record: dict[str, Any] = {
        "name": doc.name,
        "organization": doc.deployer.organisation,
        "department": doc.operating_department,
        "description_short": doc.public_summary,
        "type": doc.algorithm_type,
        "category": list(doc.services),
        "status": _NL_STATUS[filing.status],
        "contact_email": doc.public_contact or doc.deployer.contact,
        "goal_and_impact": doc.purpose,
        "considerations": _assessment_text(filing),
        "human_intervention": doc.human_intervention,
        "risk_management": mitigation,
        "legal_basis": doc.legal_basis,
        "impacttoetsen": [
            {
                "title": "cogov algorithmic impact assessment",
                "description": _assessment_text(filing),
            }
        ],
        "procedure_complaints": doc.appeal,
        "description": doc.technical_detail,
        "provider": doc.developer.organisation,
        "source_data": doc.training_data.description,
        "methods_and_models": f"{doc.algorithm_type}: {doc.model.description}",
        "publication_category": "impactvolle algoritmes" if impactful else "overige algoritmes",
        "lang": "ZHO" if doc.languages[0].startswith("zh") else "ENG",
        "standard_version": "1.0",
        "source_id": f"{filing.agent_id}@{filing.version}",
    }
    if doc.website:
        record["website"] = doc.website
    if periods:
        record["begin_date"] = periods[0][0]
        if periods[-1][1] is not None and filing.status is FilingStatus.RETIRED:
            record["end_date"] = periods[-1][1]
    return record


def to_markdown(filing: FilingRead, agent: AgentRead) -> str:
    doc = filing.document
    obligations = obligations_for(filing.grade)
    lines = [
        f"## {doc.name} (`{filing.agent_id}`, version {filing.version})",
        "",
        doc.public_summary,
        "",
        "| | |",
        "| --- | --- |",
        f"| Status | {filing.status.value}{' (paused by its guardian)' if agent.paused else ''} |",
        f"| Grade | {filing.grade.value}: {obligations.summary_en} |",
        f"| Services | {', '.join(doc.services)} |",
        f"| Operated by | {doc.operating_department} ({doc.deployer.organisation}) |",
        f"| Developed by | {doc.developer.organisation} |",
        f"| Algorithm | {doc.algorithm_type} |",
        f"| Languages | {', '.join(doc.languages)} |",
        f"| Legal basis | {doc.legal_basis} |",
        f"| Filing SHA-256 | `{filing.document_hash}` |",
        "",
        f"**Purpose.** {doc.purpose}",
        "",
        f"**How people stay in charge.** {doc.human_intervention}",
        "",
        f"**How to object or appeal.** {doc.appeal}",
        "",
        f"**Technical detail.** {doc.technical_detail}",
        "",
        f"**Impact assessment.** {_assessment_text(filing)}",
        "",
    ]
    return "\n".join(lines)


def export_register(
    session: Session, *, fmt: str, agent_id: str | None = None
) -> list[dict[str, Any]] | str:
    """Every published filing (or one agent's) in ``fmt``: a list of records for
    atrs and algoritmeregister, one Markdown document for markdown."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidRegistryInput("format", f"{fmt!r} is not one of: {', '.join(EXPORT_FORMATS)}")
    agents = [get_agent(session, agent_id=agent_id)] if agent_id else list_agents(session)
    published = [
        (agent, filing) for agent in agents if (filing := published_filing(session, agent))
    ]
    if fmt == "markdown":
        body = [to_markdown(filing, agent) for agent, filing in published]
        intro = "# Register of digital employees\n\n"
        return intro + ("\n".join(body) if body else "No agent has an approved filing yet.\n")
    records = []
    for agent, filing in published:
        if fmt == "atrs":
            records.append(to_atrs(filing))
        else:
            periods = [
                (p.active_from.strftime("%Y-%m"),
                 p.active_until.strftime("%Y-%m") if p.active_until else None)
                for p in active_periods(session, agent_id=agent.agent_id)
                if p.version == filing.version
            ]  # fmt: skip
            records.append(to_algoritmeregister(filing, periods))
    return records

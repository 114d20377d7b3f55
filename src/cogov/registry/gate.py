"""The deployment gate: may agent X (this version) act on service S now, and under
which obligations? One function, answering from the registry's current state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from cogov.registry import repository
from cogov.registry.models import RegistryAgent
from cogov.registry.rules import FilingStatus
from cogov.registry.schemas import FilingRead, GateDecision, responsible_for
from cogov.registry.service import filing_from_row, guardian_problems


def gate(
    session: Session,
    *,
    agent_id: str,
    service_code: str,
    now: datetime,
    version: int | None = None,
) -> GateDecision:
    """Decide whether the agent may act. Every reason is a full sentence; with
    ``allowed`` False they say everything that stops it (not just the first)."""
    return gate_services(
        session, agent_id=agent_id, service_codes=[service_code], now=now, version=version
    )[service_code]


def gate_services(
    session: Session,
    *,
    agent_id: str,
    service_codes: Sequence[str],
    now: datetime,
    version: int | None = None,
) -> dict[str, GateDecision]:
    """:func:`gate` for many services of one agent at once, keyed by service code:
    the registry is read once (agent, filing, guardians), and each service gets the
    decision :func:`gate` would give it."""
    codes = list(dict.fromkeys(service_codes))
    agent = repository.agent(session, agent_id)
    if agent is None:
        return {
            code: GateDecision(
                allowed=False,
                reasons=[f"Agent {agent_id!r} is not in the registry."],
                agent_id=agent_id,
                service_code=code,
                checked_at=now,
            )
            for code in codes
        }
    reasons: list[str] = []
    wanted = version if version is not None else agent.active_version
    if wanted is None:
        latest = repository.latest_version(session, agent_id)
        row = repository.filing(session, agent_id, latest) if latest is not None else None
        status = row.status if row is not None else "unfiled"
        reasons.append(f"Agent {agent_id!r} has no active version (its latest filing is {status}).")
    else:
        row = repository.filing(session, agent_id, wanted)
        if row is None:
            reasons.append(f"Agent {agent_id!r} has no version {wanted}.")
        elif row.status != FilingStatus.ACTIVE.value:
            active = (
                f"the active version is {agent.active_version}"
                if agent.active_version is not None
                else "no version is active"
            )
            reasons.append(
                f"Version {wanted} of agent {agent_id!r} is {row.status}, not active; {active}."
            )
    if row is None or reasons:
        # Nothing else matters until the version asked about is active: say that alone.
        return {
            code: GateDecision(
                allowed=False,
                reasons=list(reasons),
                agent_id=agent_id,
                service_code=code,
                checked_at=now,
            )
            for code in codes
        }
    filing = filing_from_row(row)
    paused: list[str] = []
    if agent.paused:
        paused.append(
            f"Agent {agent_id!r} is paused by {agent.paused_by} "
            f"(kill switch, since {agent.paused_at:%Y-%m-%d %H:%M} UTC): {agent.pause_reason}"
        )
    # What stops the agent whatever the service (asked once for all services).
    general = guardian_problems(
        session, guardian=agent.guardian_username, backup=agent.backup_guardian_username
    )
    if filing.prohibited:
        uses = ", ".join(sorted({f.use for f in filing.assessment.prohibited}))
        general.append(f"The filing describes a prohibited use ({uses}).")
    obligations = filing.obligations
    if obligations.needs_sandbox_report and filing.sandbox_report_id is None:
        general.append(
            f"Grade {filing.grade} needs an approved sandbox report and none is attached."
        )
    return {code: _decision(agent_id, code, now, agent, filing, paused, general) for code in codes}


def _decision(
    agent_id: str,
    service_code: str,
    now: datetime,
    agent: RegistryAgent,
    filing: FilingRead,
    paused: list[str],
    general: list[str],
) -> GateDecision:
    doc = filing.document
    obligations = filing.obligations
    reasons = list(paused)
    if service_code not in doc.services:
        reasons.append(
            f"Service {service_code!r} is not in the filed scope of agent {agent_id!r} "
            f"({', '.join(doc.services)})."
        )
    reasons.extend(general)
    allowed = not reasons
    if allowed:
        reasons.append(
            f"Agent {agent_id!r} version {filing.version} is active, not paused, in scope "
            f"for {service_code!r}, and guarded by {agent.guardian_username} "
            f"(backup {agent.backup_guardian_username}); grade {filing.grade} obligations apply."
        )
    return GateDecision(
        allowed=allowed,
        reasons=reasons,
        agent_id=agent_id,
        service_code=service_code,
        checked_at=now,
        version=filing.version,
        grade=filing.grade,
        obligations=obligations.as_dict(),
        confidence_threshold=doc.confidence_threshold,
        guardian=agent.guardian_username,
        backup_guardian=agent.backup_guardian_username,
        developer_org=doc.developer.organisation,
        deployer=doc.deployer.organisation,
        operating_department=doc.operating_department,
        model_hash=doc.model.hash,
        filing_hash=filing.document_hash,
        responsible=responsible_for(filing, guardian=agent.guardian_username),
    )

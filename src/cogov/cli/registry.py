"""`cogov registry`: file, grade and govern digital employees."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from cogov.cli.context import (
    DataDirOption,
    JsonOption,
    console,
    fail,
    handle_errors,
    non_empty_path,
    print_json,
    session_for,
    settings_for,
)
from cogov.control.autonomy import (
    AutonomyLevel,
    AutonomyPolicy,
    AutonomyStanding,
    register_with_autonomy,
)
from cogov.core.clock import utc_now
from cogov.registry import (
    EXPORT_FORMATS,
    AgentRead,
    FilingInvalid,
    FilingRead,
    RefusalRecorded,
    activate,
    active_periods,
    approve,
    assign_guardians,
    export_register,
    file_agent,
    gate,
    get_agent,
    get_filing,
    grade_answers,
    history,
    list_agents,
    load_filing_file,
    obligations_for,
    pause_agent,
    read_yaml_file,
    resume_agent,
    retire,
    submit,
    suspend,
)

app = typer.Typer(help="The registry of digital employees: filings, grades, guardians.",
                  no_args_is_help=True)  # fmt: skip

AgentArgument = Annotated[str, typer.Argument(help="The agent id, e.g. router-agent.")]
ByOption = Annotated[str, typer.Option("--by", help="Username of the staff member acting.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the ledger).")]
VersionOption = Annotated[
    int | None,
    typer.Option("--version", min=1, help="Filing version (default: the latest; suspend: active)."),
]


def filing_json(filing: FilingRead) -> dict[str, Any]:
    return {
        "agent_id": filing.agent_id,
        "version": filing.version,
        "status": filing.status.value,
        "grade": filing.grade.value,
        "prohibited": filing.prohibited,
        "obligations": filing.obligations.as_dict(),
        "assessment": filing.assessment.model_dump(mode="json"),
        "document": filing.document.model_dump(mode="json", exclude_none=True),
        "document_hash": filing.document_hash,
        "filed_at": filing.filed_at.isoformat(),
        "filed_by": filing.filed_by,
        "status_changed_at": filing.status_changed_at.isoformat(),
        "sandbox_report_id": filing.sandbox_report_id,
    }


def agent_json(agent: AgentRead) -> dict[str, Any]:
    return {
        "agent_id": agent.agent_id,
        "name": agent.latest.document.name,
        "latest_version": agent.latest.version,
        "latest_status": agent.latest.status.value,
        "grade": agent.latest.grade.value,
        "active_version": agent.active_version,
        "guardian": agent.guardian,
        "backup_guardian": agent.backup_guardian,
        "paused": agent.paused,
        "pause_reason": agent.pause_reason,
    }


def _run_step(data_dir: Path | None, step: Callable[[Session], FilingRead | AgentRead]) -> Any:
    """Run one governed step in one unit of work. A refusal the ledger records is
    committed (so the record survives) and then reported, exit code 2."""
    refusal: RefusalRecorded | None = None
    result: Any = None
    with session_for(data_dir) as session:
        try:
            result = step(session)
        except RefusalRecorded as exc:
            refusal = exc
    if refusal is not None:
        raise fail(f"{refusal.message} (the refusal is recorded in the ledger)")
    return result


@app.command("file")
@handle_errors
def file_command(
    file: Annotated[Path, typer.Argument(help="The filing YAML (see docs/registry.md).")],
    by: Annotated[
        str | None, typer.Option("--by", help="Administrator filing it (default: the operator).")
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """File a new version of an agent as a draft, graded by its questionnaire."""
    document = load_filing_file(file)
    with session_for(data_dir) as session:
        filing = file_agent(session, document=document, by=by)
    if as_json:
        print_json(filing_json(filing))
        return
    console.print(
        f"filed [bold]{filing.agent_id}[/] version {filing.version} as draft, "
        f"grade [bold]{filing.grade.value}[/] ({filing.assessment.share:.0%} of maximum impact)",
        highlight=False,
    )
    for finding in filing.assessment.prohibited:
        console.print(f"[bold red]prohibited:[/] {finding.use}: {finding.evidence}",
                      highlight=False)  # fmt: skip
    if filing.prohibited:
        console.print("this filing can never be approved", style="red")


@app.command("list")
@handle_errors
def list_command(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """List every filed agent with its latest version and what is active."""
    with session_for(data_dir) as session:
        agents = list_agents(session)
    if as_json:
        print_json([agent_json(agent) for agent in agents])
        return
    table = Table("agent", "name", "latest", "status", "grade", "active", "guardian", "paused")
    for agent in agents:
        table.add_row(
            agent.agent_id,
            agent.latest.document.name,
            f"v{agent.latest.version}",
            agent.latest.status.value,
            agent.latest.grade.value,
            f"v{agent.active_version}" if agent.active_version else "-",
            f"{agent.guardian} / {agent.backup_guardian}" if agent.guardian else "-",
            "PAUSED" if agent.paused else "",
        )
    console.print(table)


@app.command("show")
@handle_errors
def show_command(
    agent_id: AgentArgument,
    version: VersionOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one version of an agent's filing (the latest by default)."""
    with session_for(data_dir) as session:
        filing = get_filing(session, agent_id=agent_id, version=version)
        agent = get_agent(session, agent_id=agent_id)
    if as_json:
        print_json({**filing_json(filing), "agent": agent_json(agent)})
        return
    doc = filing.document
    a = filing.assessment
    table = Table(show_header=False, box=None)
    rows = [
        ("agent", f"{filing.agent_id} v{filing.version} ({filing.status.value})"),
        ("name", doc.name),
        ("purpose", doc.purpose),
        ("services", ", ".join(doc.services)),
        ("grade", f"{filing.grade.value}: {filing.obligations.summary_en}"),
        ("score", f"raw {a.raw_score}/{a.max_raw_score}, mitigation "
                  f"{a.mitigation_score}/{a.max_mitigation_score}, current {a.current_score} "
                  f"({a.share:.0%})"),
        ("prohibited", ", ".join(f.use for f in a.prohibited) or "none found"),
        ("developer", doc.developer.organisation),
        ("deployer", doc.deployer.organisation),
        ("department", doc.operating_department),
        ("guardians", f"filed {doc.guardian} / {doc.backup_guardian}; on duty "
                      f"{agent.guardian or '-'} / {agent.backup_guardian or '-'}"),
        ("paused", f"yes, by {agent.paused_by}: {agent.pause_reason}" if agent.paused else "no"),
        ("security", doc.security_assessment.status),
        ("ethics", doc.ethics_review.status),
        ("sandbox report", filing.sandbox_report_id or "-"),
        ("filed", f"{filing.filed_at:%Y-%m-%d %H:%M} by {filing.filed_by}"),
        ("sha256", filing.document_hash),
    ]  # fmt: skip
    for key, value in rows:
        table.add_row(f"[bold]{key}[/]", value)
    console.print(table)


def _step_command(name: str, func: Callable[..., FilingRead], help_text: str) -> None:
    @app.command(name, help=help_text)
    @handle_errors
    def command(
        agent_id: AgentArgument,
        by: ByOption,
        reason: ReasonOption,
        version: VersionOption = None,
        data_dir: DataDirOption = None,
    ) -> None:
        filing = _run_step(
            data_dir,
            lambda s: func(s, agent_id=agent_id, version=version, by=by, reason=reason),
        )
        console.print(
            f"{filing.agent_id} v{filing.version} is now [bold]{filing.status.value}[/]",
            highlight=False,
        )


_step_command("submit", submit, "Submit a draft filing for approval.")
_step_command("approve", approve, "Approve a submitted filing (a different administrator).")
_step_command("activate", activate, "Activate an approved (or reinstate a suspended) filing.")
_step_command("suspend", suspend, "Suspend the active filing.")
_step_command("retire", retire, "Retire a filing for good.")


@app.command("pause")
@handle_errors
def pause_command(
    agent_id: AgentArgument, by: ByOption, reason: ReasonOption, data_dir: DataDirOption = None
) -> None:
    """Kill switch: the agent stops acting at once (its guardian, backup or an administrator)."""
    _run_step(data_dir, lambda s: pause_agent(s, agent_id=agent_id, by=by, reason=reason))
    console.print(f"{agent_id} is [bold red]paused[/]", highlight=False)


@app.command("resume")
@handle_errors
def resume_command(
    agent_id: AgentArgument, by: ByOption, reason: ReasonOption, data_dir: DataDirOption = None
) -> None:
    """Lift the kill switch."""
    _run_step(data_dir, lambda s: resume_agent(s, agent_id=agent_id, by=by, reason=reason))
    console.print(f"{agent_id} is [bold]resumed[/]", highlight=False)


@app.command("guardians")
@handle_errors
def guardians_command(
    agent_id: AgentArgument,
    guardian: Annotated[str, typer.Option("--guardian", help="Username of the new guardian.")],
    backup: Annotated[str, typer.Option("--backup", help="Username of the new backup guardian.")],
    by: ByOption,
    reason: ReasonOption,
    data_dir: DataDirOption = None,
) -> None:
    """Put a new guardian and backup guardian on duty."""
    _run_step(
        data_dir,
        lambda s: assign_guardians(
            s, agent_id=agent_id, guardian=guardian, backup_guardian=backup, by=by, reason=reason
        ),
    )
    console.print(f"{agent_id}: guardian {guardian}, backup {backup}", highlight=False)


@app.command("history")
@handle_errors
def history_command(
    agent_id: AgentArgument, data_dir: DataDirOption = None, as_json: JsonOption = False
) -> None:
    """Every step taken on an agent, and which version was active when."""
    with session_for(data_dir) as session:
        events = history(session, agent_id=agent_id)
        periods = active_periods(session, agent_id=agent_id)
    if as_json:
        print_json(
            {
                "events": [e.model_dump(mode="json") for e in events],
                "active_periods": [p.model_dump(mode="json") for p in periods],
            }
        )
        return
    table = Table("when (UTC)", "version", "step", "status", "by", "reason", "ledger")
    for e in events:
        change = f"{e.from_status or ''} -> {e.to_status}" if e.to_status else ""
        table.add_row(f"{e.at:%Y-%m-%d %H:%M:%S}", str(e.version or "-"), e.action, change,
                      e.actor, e.reason or "", f"#{e.ledger_seq}")  # fmt: skip
    console.print(table)
    active = Table("version", "active from", "active until")
    for p in periods:
        until = f"{p.active_until:%Y-%m-%d %H:%M:%S}" if p.active_until else "(still active)"
        active.add_row(f"v{p.version}", f"{p.active_from:%Y-%m-%d %H:%M:%S}", until)
    console.print(active)


@app.command("export")
@handle_errors
def export_command(
    fmt: Annotated[
        str, typer.Option("--format", help=f"One of: {', '.join(EXPORT_FORMATS)}.")
    ] = "markdown",
    agent_id: Annotated[str | None, typer.Option("--agent", help="Only this agent.")] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", parser=non_empty_path, help="Write here instead of stdout."),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Publish the register as UK ATRS, Dutch Algoritmeregister (JSON) or Markdown."""
    with session_for(data_dir) as session:
        exported = export_register(session, fmt=fmt, agent_id=agent_id)
    text = (
        exported
        if isinstance(exported, str)
        else json.dumps(exported, indent=2, ensure_ascii=False) + "\n"
    )
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}", highlight=False)


@app.command("grade")
@handle_errors
def grade_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="A filing YAML, or a YAML with `answers:` (and optionally `purpose:`)."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Score a questionnaire alone: grade, obligations and any prohibited use."""
    data = read_yaml_file(file)
    if not isinstance(data, dict):
        raise FilingInvalid([("$", "expected a map with `answers:` or a filing")])
    if "impact_assessment" in data:
        answers = (data.get("impact_assessment") or {}).get("answers")
    else:
        answers = data.get("answers")
    if not isinstance(answers, dict):
        raise FilingInvalid([("impact_assessment.answers", "required")])
    purpose = data.get("purpose") or ""
    assessment = grade_answers(answers, purpose=str(purpose))
    obligations = obligations_for(assessment.grade)
    if as_json:
        print_json({**assessment.as_dict(), "obligations": obligations.as_dict()})
        return
    console.print(
        f"grade [bold]{assessment.grade.value}[/]: raw {assessment.raw_score}/"
        f"{assessment.max_raw_score}, mitigation {assessment.mitigation_score}/"
        f"{assessment.max_mitigation_score}"
        f"{' (15% deducted)' if assessment.mitigation_deducted else ''}, current "
        f"{assessment.current_score} ({assessment.share:.0%})",
        highlight=False,
    )
    console.print(obligations.summary_en, highlight=False)
    for finding in assessment.prohibited:
        console.print(f"[bold red]prohibited:[/] {finding.reason}", highlight=False)


@app.command("gate")
@handle_errors
def gate_command(
    agent_id: AgentArgument,
    service: Annotated[str, typer.Option("--service", help="Service code to act on.")],
    version: VersionOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask the deployment gate whether the agent may act on a service now."""
    with session_for(data_dir) as session:
        # An unknown agent or version is not found, not refused.
        get_filing(session, agent_id=agent_id, version=version)
        decision = gate(session, agent_id=agent_id, service_code=service, now=utc_now(),
                        version=version)  # fmt: skip
    if as_json:
        print_json(decision.model_dump(mode="json"))
    else:
        verdict = "[bold green]allowed[/]" if decision.allowed else "[bold red]refused[/]"
        console.print(f"{agent_id} on {service}: {verdict}", highlight=False)
        for reason in decision.reasons:
            console.print(f"  - {reason}", highlight=False)
    if not decision.allowed:
        raise typer.Exit(1)


@app.command("public")
@handle_errors
def public_command(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """The public register: plain-language summaries of the active agents, with each
    one's autonomy now and the measures the controller watches (as the web page and
    GET /api/v1/registry/public show them)."""
    policy = AutonomyPolicy.from_settings(settings_for(data_dir))
    with session_for(data_dir, read_only=True) as session:
        entries = register_with_autonomy(session, policy=policy)
    if as_json:
        print_json([entry.model_dump(mode="json") for entry in entries])
        return
    for entry in entries:
        console.print(f"[bold]{entry.name}[/] ({entry.agent_id} v{entry.version}, grade "
                      f"{entry.grade.value}){' PAUSED' if entry.paused else ''}",
                      highlight=False)  # fmt: skip
        console.print(f"  {entry.summary}", highlight=False)
        console.print(f"  {entry.human_oversight_en}", highlight=False)
        for line in standing_lines(entry.autonomy):
            console.print(f"  {line}", highlight=False)


def _level(level: int) -> str:
    return f"{level} ({AutonomyLevel(level).name.lower()})"


def _percent(rate: float) -> str:
    return f"{rate:.1%}"


def standing_lines(standing: AutonomyStanding) -> list[str]:
    """An agent's autonomy standing in plain English: the level and its ceiling, the
    last change, and the window's measures each beside the controller's limit."""
    lines = [f"autonomy: level {_level(standing.level)}, ceiling {_level(standing.ceiling)}"]
    change = standing.last_change
    if change is None:
        lines.append("last change: never changed")
    else:
        by = {"controller": "the controller", "person": "a person who answers for it",
              "guardian": "with the guardian's sign-off"}[change.by]  # fmt: skip
        breaches = "".join(
            f"; {breach.metric} {_percent(breach.value)} > {_percent(breach.threshold)}"
            for breach in change.breaches
        )
        lines.append(f"last change: {change.direction} {change.from_level} -> "
                     f"{change.to_level} by {by} on {change.changed_at}{breaches}")  # fmt: skip
    window, limits = standing.window, standing.limits
    lines.append(f"window: {window.since} to {window.until}, {window.proposals} proposals")
    if not window.enough:
        lines.append(f"  not enough cases yet (the controller judges from "
                     f"{limits.min_proposals} proposals)")  # fmt: skip
        return lines
    if window.applied_share is not None:
        lines.append(f"  applied without a person: {window.applied_without_person} "
                     f"({_percent(window.applied_share)})")  # fmt: skip
    rates = (
        ("overridden by a person", window.overridden, window.reviewed, window.override_rate,
         limits.max_override_rate),
        ("upheld appeals", window.upheld_appeals, window.proposals, window.upheld_appeal_rate,
         limits.max_upheld_appeal_rate),
        ("negative-list hits", window.negative_list_hits, window.proposals,
         window.negative_list_rate, limits.max_negative_list_rate),
    )  # fmt: skip
    for label, part, whole, rate, limit in rates:
        shown = "not enough cases yet" if rate is None else f"{part} of {whole} ({_percent(rate)})"
        lines.append(f"  {label}: {shown}, limit {_percent(limit)}")
    gap = window.group_gap
    shown = (
        f"not enough cases in each group yet (at least {limits.min_group_size})"
        if gap is None
        else f"{_percent(gap.gap)} by {gap.attribute}"
    )
    lines.append(f"  gap between groups: {shown}, limit {_percent(limits.max_group_gap)}")
    return lines

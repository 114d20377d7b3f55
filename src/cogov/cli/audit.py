"""`cogov audit`: efficiency, fairness, coverage and responsibility reports,
from a file of cases or from the live database."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cogov.audit import (
    PRESETS,
    AuditOptions,
    ColumnMap,
    FairnessOptions,
    OnTimeRule,
    preset,
    read_cases,
    read_population,
    read_targets,
    run_audit,
    summary_lines,
    write_outputs,
)
from cogov.audit.errors import BadInput
from cogov.audit.frame import within
from cogov.audit.live import frame_from_database
from cogov.audit.responsibility import responsibility_for_case, responsibility_for_period
from cogov.cli.context import (
    DataDirOption,
    JsonOption,
    console,
    handle_errors,
    non_empty_path,
    print_json,
    session_for,
)

app = typer.Typer(
    help="Audits: efficiency, fairness and the digital divide, coverage, responsibility.",
    no_args_is_help=True,
)


@app.command("run")
@handle_errors
def run_command(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="A CSV or Parquet file of cases; omit to audit the live database."
        ),
    ] = None,
    preset_name: Annotated[
        str | None,
        typer.Option("--preset", help=f"Column names of a known schema: {', '.join(PRESETS)}."),
    ] = None,
    case_id: Annotated[str | None, typer.Option("--id", help="Column: case id.")] = None,
    created: Annotated[
        str | None,
        typer.Option("--created", help="Column: when the case was created (required for a file)."),
    ] = None,
    routed: Annotated[
        str | None, typer.Option("--routed", help="Column: when it was routed to a department.")
    ] = None,
    first_response: Annotated[
        str | None, typer.Option("--first-response", help="Column: first response to the citizen.")
    ] = None,
    closed: Annotated[
        str | None, typer.Option("--closed", help="Column: when it was closed.")
    ] = None,
    due: Annotated[str | None, typer.Option("--due", help="Column: when it was due.")] = None,
    service: Annotated[
        str | None, typer.Option("--service", help="Column: service / complaint type.")
    ] = None,
    agent: Annotated[
        str | None, typer.Option("--agent", help="Column: the agent (or office) that worked it.")
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option(
            "--channel", help="Column: channel (phone, web, app ...); also audited as a group."
        ),
    ] = None,
    case_area: Annotated[
        str | None,
        typer.Option("--case-area", help="Column: the case's area, joined to --population."),
    ] = None,
    without_human: Annotated[
        str | None,
        typer.Option("--without-human", help="Column (yes/no): handled without a human."),
    ] = None,
    overridden: Annotated[
        str | None,
        typer.Option("--overridden", help="Column (yes/no): a human overrode the AI proposal."),
    ] = None,
    appealed: Annotated[
        str | None, typer.Option("--appealed", help="Column (yes/no): the citizen appealed.")
    ] = None,
    appeal_upheld: Annotated[
        str | None, typer.Option("--appeal-upheld", help="Column (yes/no): the appeal was upheld.")
    ] = None,
    proposed_route: Annotated[
        str | None, typer.Option("--proposed-route", help="Column: the AI's proposed route.")
    ] = None,
    final_route: Annotated[
        str | None, typer.Option("--final-route", help="Column: the final (human) route.")
    ] = None,
    duplicate_of: Annotated[
        str | None,
        typer.Option("--duplicate-of", help="Column: the case this one repeats (merged)."),
    ] = None,
    draft_seconds: Annotated[
        str | None,
        typer.Option("--draft-seconds", help="Column: seconds spent drafting the reply."),
    ] = None,
    on_time: Annotated[
        str | None,
        typer.Option("--on-time", help="Column (yes/no): on time as recorded by the source."),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option("--group", help="Column to audit as a group (repeat; 'a*b' for a pair)."),
    ] = None,
    population: Annotated[
        Path | None, typer.Option("--population", help="CSV/Parquet of residents per area.")
    ] = None,
    area: Annotated[
        str | None, typer.Option("--area", help="Column of --population naming the area.")
    ] = None,
    count: Annotated[
        str | None, typer.Option("--count", help="Column of --population with the residents.")
    ] = None,
    reference: Annotated[
        str, typer.Option("--reference", help="Reference group: largest, best, or a group's value.")
    ] = "largest",
    min_group: Annotated[
        int, typer.Option("--min-group", help="Fewest cases to judge a group.")
    ] = 30,
    replicates: Annotated[
        int, typer.Option("--replicates", help="Bootstrap replicates (0: no intervals).")
    ] = 1000,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the bootstrap (same seed, same intervals).")
    ] = 0,
    period: Annotated[
        str, typer.Option("--period", help="day, week, month, quarter or year.")
    ] = "month",
    target_hours: Annotated[
        float | None,
        typer.Option("--target-hours", help="Hours allowed for every service without a due date."),
    ] = None,
    targets: Annotated[
        Path | None,
        typer.Option("--targets", help="CSV with columns service,hours: per-service targets."),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            help="Judge open cases against their due date at this time "
            "(default: the latest time in the data).",
        ),
    ] = None,
    coverage_fraction: Annotated[
        float,
        typer.Option(
            "--coverage-fraction", help="Flag areas below this fraction of the median rate."
        ),
    ] = 0.5,
    received_from: Annotated[
        datetime | None, typer.Option("--from", help="Only cases created from this time (UTC).")
    ] = None,
    received_to: Annotated[
        datetime | None, typer.Option("--to", help="Only cases created up to this time (UTC).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Directory for audit.json, CSV tables and report.html.",
            parser=non_empty_path,
        ),
    ] = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Audit cases: efficiency, fairness by group, coverage against the population."""
    if out is not None and out.exists() and not out.is_dir():
        raise BadInput("--out", f"{out} is a file; name a directory for the report")
    options = AuditOptions(
        fairness=FairnessOptions(
            reference=reference, min_group_size=min_group, replicates=replicates, seed=seed
        ),
        on_time=OnTimeRule(
            targets=read_targets(targets) if targets else {},
            default_hours=target_hours,
            as_of=as_of,
        ),
        period=period,  # type: ignore[arg-type]
        coverage_fraction=coverage_fraction,
    )
    flags = {
        "case_id": case_id,
        "created_at": created,
        "routed_at": routed,
        "first_response_at": first_response,
        "closed_at": closed,
        "due_at": due,
        "service": service,
        "agent": agent,
        "channel": channel,
        "area": case_area,
        "handled_without_human": without_human,
        "overridden": overridden,
        "appealed": appealed,
        "appeal_upheld": appeal_upheld,
        "proposed_route": proposed_route,
        "final_route": final_route,
        "duplicate_of": duplicate_of,
        "draft_seconds": draft_seconds,
        "on_time": on_time,
        "groups": tuple(group or ()),
    }
    findings: list[dict[str, object]] = []
    if data is not None:
        base = preset(preset_name).columns if preset_name else ColumnMap()
        columns = base.merged(flags)
        if channel and "channel" not in columns.groups and not group:
            columns = columns.merged({"groups": (*columns.groups, "channel")})
        frame = within(read_cases(data, columns), received_from, received_to)
    else:
        if preset_name or any(value for key, value in flags.items() if key != "groups"):
            raise BadInput(
                "--data", "column flags and --preset describe a file: name it with --data FILE"
            )
        with session_for(data_dir, read_only=True) as session:
            frame = frame_from_database(
                session,
                groups=tuple(group or ()),
                received_from=received_from,
                received_to=received_to,
            )
            wrong = responsibility_for_period(session, frame=frame)
            findings = [report.as_dict() for report in wrong]
    people = None
    if population is not None:
        if not area or not count:
            raise BadInput("--population", "also name its columns with --area COL and --count COL")
        people = read_population(population, area, count)
    report = run_audit(frame, options=options, population=people, responsibility=findings)
    written = write_outputs(report, out) if out else []
    if as_json:
        print_json(report.to_dict())
        return
    for line in summary_lines(report):
        console.print(line, highlight=False, markup=False)
    if out is not None:
        console.print(
            f"wrote {len(written)} files to {out} (open {out / 'report.html'})", highlight=False
        )


@app.command("responsibility")
@handle_errors
def responsibility_command(
    case_id: Annotated[
        str | None, typer.Argument(help="One case; omit for every wrong decision.")
    ] = None,
    received_from: Annotated[
        datetime | None, typer.Option("--from", help="Cases received from (UTC).")
    ] = None,
    received_to: Annotated[
        datetime | None, typer.Option("--to", help="Cases received up to (UTC).")
    ] = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Who answers for overridden proposals and upheld appeals, citing ledger entries."""
    with session_for(data_dir, read_only=True) as session:
        if case_id:
            reports = responsibility_for_case(session, case_id=case_id)
        else:
            reports = responsibility_for_period(
                session, received_from=received_from, received_to=received_to
            )
        items = [report.as_dict() for report in reports]
    if as_json:
        print_json(items)
        return
    if not items:
        console.print("no overridden proposal or upheld appeal found")
    for item in items:
        state = "wrong" if item["wrong"] else "not found wrong"
        console.print(
            f"case {item['case_id']} {item['action']} ({state})", highlight=False, markup=False
        )
        for finding in item["findings"]:
            seqs = ", ".join(str(seq) for seq in finding["ledger_seqs"])
            console.print(
                f"  {finding['party']} ({finding['who'] or 'unnamed'}): {finding['reason']} "
                f"[ledger {seqs}]",
                highlight=False,
                markup=False,
            )


@app.command("presets")
@handle_errors
def presets_command(as_json: JsonOption = False) -> None:
    """List the known open-data schemas and their columns."""
    listing = {
        name: {
            "description": item.description,
            "columns": item.columns.mapped(),
            "groups": list(item.columns.groups),
        }
        for name, item in PRESETS.items()
    }
    if as_json:
        print_json(listing)
        return
    for name, item in listing.items():
        console.print(f"[bold]{name}[/]: {item['description']}")
        columns = PRESETS[name].columns.mapped()
        for key, value in columns.items():
            console.print(f"  {key:<22} {value}", highlight=False, markup=False)

"""`cogov review`, `cogov appeals` and `cogov autonomy`: the human review queue,
citizens' appeals, and agents' autonomy levels."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.exc import OperationalError

from cogov.cli.context import (
    DataDirOption,
    JsonOption,
    console,
    engine_for,
    err_console,
    fail,
    handle_errors,
    print_json,
    session_for,
    settings_for,
)
from cogov.control import load_control_config
from cogov.control.autonomy import (
    AutonomyLevel,
    AutonomyPolicy,
    AutonomyRead,
    evaluate_all,
    get_autonomy,
    lower_level,
    raise_level,
)
from cogov.core.clock import SystemClock, iso_utc
from cogov.identity import get_user
from cogov.registry import get_agent, list_agents
from cogov.review import (
    AppealRead,
    ReviewItemRead,
    ReviewPolicy,
    add_team_member,
    claim,
    claim_next,
    decide,
    decide_appeal,
    file_appeal,
    list_appeals,
    list_queue,
    list_team_members,
    merge_case,
    reason_codes_for,
    release,
    remove_team_member,
)
from cogov.review.timer import SweepResult, sweep_overdue

app = typer.Typer(
    help="The human review queue: claim, approve, edit or reject what agents may not "
    "decide alone; escalate overdue items to the backup guardian.",
    no_args_is_help=True,
)
team_app = typer.Typer(help="Who works each team's queue.", no_args_is_help=True)
app.add_typer(team_app, name="team")
appeals_app = typer.Typer(
    help="Citizens' appeals against decisions an agent touched.", no_args_is_help=True
)
autonomy_app = typer.Typer(
    help="Agents' autonomy levels (0 suggest only ... 3 act alone within rules).",
    no_args_is_help=True,
)

ReviewerOption = Annotated[
    str, typer.Option("--reviewer", help="Username of the reviewer taking the step.")
]
ItemArgument = Annotated[str, typer.Argument(help="Id of the review item.")]
CodeOption = Annotated[
    str | None,
    typer.Option(
        "--reason-code", help="Why (see `cogov review reasons`); needed to edit or reject."
    ),
]
NoteOption = Annotated[
    str | None,
    typer.Option("--note", help="Your own words, kept and shown with the decision."),
]


def _item_row(item: ReviewItemRead, now: str) -> list[str]:
    if item.decision:
        state, who = item.decision, item.decided_by or ""
    else:
        state, who = item.state, item.claimed_by or ""
    if item.escalated_to and not item.decision:
        who = f"{who} (escalated to {item.escalated_to})".strip()
    due = item.deadline[:16].replace("T", " ")
    if item.overdue(now):
        due = f"[red]{due} overdue[/]"
    return [item.id, item.team, state, who, due, item.reason]


def _print_items(items: list[ReviewItemRead], as_json: bool) -> None:
    if as_json:
        print_json([item.as_dict() for item in items])
        return
    now = iso_utc(SystemClock().now())
    table = Table()
    table.add_column("item", no_wrap=True)
    table.add_column("team", overflow="ellipsis", min_width=8, max_width=20)
    table.add_column("state", min_width=7)
    table.add_column("by", overflow="ellipsis", min_width=8, max_width=20)
    table.add_column("deadline (UTC)", min_width=10)
    table.add_column("why", overflow="ellipsis", min_width=8, max_width=40)
    for item in items:
        table.add_row(*_item_row(item, now))
    console.print(table)


def _print_item(item: ReviewItemRead, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(item.as_dict())
        return
    console.print(
        f"{verb} review item {item.id} (case {item.case_id}, proposal {item.proposal_id})"
    )
    if item.decision:
        console.print(
            f"decision: {item.decision} by {item.decided_by}"
            + (f", reason: {item.reason_label}" if item.reason_label else "")
            + (f", note: {item.note}" if item.note else "")
        )


@app.command("queue")
@handle_errors
def queue_command(
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Only the items this reviewer may work.")
    ] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team's queue.")] = None,
    decided: Annotated[bool, typer.Option("--decided", help="Show decided items instead.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the queue, most urgent first."""
    states = ("decided",) if decided else ("queued", "claimed")
    with session_for(data_dir) as session:
        codes = reason_codes_for(settings_for(data_dir))
        items = list_queue(
            session, reviewer=reviewer, team=team, states=states, limit=limit, codes=codes
        )
    _print_items(items, as_json)


@app.command("claim")
@handle_errors
def claim_command(
    reviewer: ReviewerOption,
    item: Annotated[
        str | None, typer.Option("--item", help="Claim this item rather than the most urgent.")
    ] = None,
    team: Annotated[str | None, typer.Option("--team", help="Claim from this team only.")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Claim the most urgent item you may work (or one named item)."""
    settings = settings_for(data_dir)
    policy = ReviewPolicy.from_settings(settings)
    codes = reason_codes_for(settings)
    with session_for(data_dir) as session:
        if item is not None:
            taken = claim(session, item_id=item, reviewer=reviewer, policy=policy, codes=codes)
        else:
            taken = claim_next(session, reviewer=reviewer, team=team, policy=policy, codes=codes)
    _print_item(taken, as_json, "claimed")


def _decide(
    data_dir: Path | None,
    *,
    item: str,
    reviewer: str,
    decision: str,
    reason_code: str | None,
    note: str | None,
    new_value: str | None,
    as_json: bool,
) -> None:
    settings = settings_for(data_dir)
    with session_for(data_dir) as session:
        done = decide(
            session,
            item_id=item,
            reviewer=reviewer,
            decision=decision,
            reason_code=reason_code,
            note=note,
            new_value=new_value,
            config=load_control_config(settings),
            policy=ReviewPolicy.from_settings(settings),
            codes=reason_codes_for(settings),
            autonomy_policy=AutonomyPolicy.from_settings(settings),
        )
    _print_item(done, as_json, "decided")


@app.command("approve")
@handle_errors
def approve_command(
    item: ItemArgument,
    reviewer: ReviewerOption,
    reason_code: CodeOption = None,
    note: NoteOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve the agent's proposal as made. Final."""
    _decide(
        data_dir,
        item=item,
        reviewer=reviewer,
        decision="approve",
        reason_code=reason_code,
        note=note,
        new_value=None,
        as_json=as_json,
    )


@app.command("edit")
@handle_errors
def edit_command(
    item: ItemArgument,
    reviewer: ReviewerOption,
    value: Annotated[str, typer.Option("--value", help="The value you choose instead.")],
    reason_code: CodeOption = None,
    note: NoteOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Apply another value than the agent proposed (a reason code is required). Final."""
    _decide(
        data_dir,
        item=item,
        reviewer=reviewer,
        decision="edit",
        reason_code=reason_code,
        note=note,
        new_value=value,
        as_json=as_json,
    )


@app.command("reject")
@handle_errors
def reject_command(
    item: ItemArgument,
    reviewer: ReviewerOption,
    reason_code: CodeOption = None,
    note: NoteOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Refuse the agent's proposal: nothing is applied (a reason code is required). Final."""
    _decide(
        data_dir,
        item=item,
        reviewer=reviewer,
        decision="reject",
        reason_code=reason_code,
        note=note,
        new_value=None,
        as_json=as_json,
    )


@app.command("merge")
@handle_errors
def merge_command(
    case: Annotated[str, typer.Argument(help="Id of the case that repeats another.")],
    into: Annotated[str, typer.Option("--into", help="Id of the case it repeats.")],
    reviewer: ReviewerOption,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why, kept in the ledger entry.")
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Merge a case into another it repeats, where no agent proposed it: what waited for
    a human on it is withdrawn. Final."""
    settings = settings_for(data_dir)
    with session_for(data_dir) as session:
        merged = merge_case(
            session,
            case_id=case,
            into=into,
            reviewer=reviewer,
            config=load_control_config(settings),
            reason=reason,
        )
    if as_json:
        print_json(asdict(merged))
        return
    console.print(f"merged case {merged.case_id} into case {merged.duplicate_of}")


@app.command("release")
@handle_errors
def release_command(
    item: ItemArgument,
    reviewer: ReviewerOption,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give an item you claimed back to the team's queue."""
    with session_for(data_dir) as session:
        back = release(session, item_id=item, reviewer=reviewer)
    _print_item(back, as_json, "released")


@app.command("escalate")
@app.command("escalate-overdue", hidden=True)
@handle_errors
def escalate_command(
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
    every: Annotated[
        float | None,
        typer.Option(
            "--every",
            min=1,
            max=86_400,
            help="Keep running: sweep again every SECONDS until stopped (Ctrl-C), for a "
            "deployment without cron (the server can do it too: "
            "COGOV_REVIEW_ESCALATION_INTERVAL_SECONDS).",
            metavar="SECONDS",
        ),
    ] = None,
) -> None:
    """Escalate every overdue item nobody is working to the agent's backup guardian
    (once, e.g. from cron, or `--every SECONDS`; nothing is ever applied by default).
    Safe beside other sweeps: on PostgreSQL one sweeps at a time, the others skip."""
    settings = settings_for(data_dir)
    policy = ReviewPolicy.from_settings(settings)
    engine = engine_for(settings)
    try:
        while True:
            try:
                _print_sweep(sweep_overdue(engine, policy=policy), as_json)
            except OperationalError as exc:
                if every is None:
                    raise fail(f"database: {exc.orig}") from None
                err_console.print(f"sweep failed (retrying in {every:g} s): {exc.orig}")
            if every is None:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                return
    finally:
        engine.dispose()


def _print_sweep(result: SweepResult, as_json: bool) -> None:
    if as_json:
        print_json([item.as_dict() for item in result.escalated])
        return
    if not result.ran:
        console.print("another process is sweeping: nothing done this time")
        return
    stamp = iso_utc(SystemClock().now())
    console.print(
        f"{stamp} escalated {len(result.escalated)} overdue item(s) to the backup guardian"
    )
    for item in result.escalated:
        console.print(f"  {item.id} -> {item.escalated_to} (new deadline {item.deadline})")


@app.command("reasons")
@handle_errors
def reasons_command(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """The reason codes a reviewer may give, and which decisions each explains."""
    codes = reason_codes_for(settings_for(data_dir))
    if as_json:
        print_json([code.model_dump(mode="json") for code in codes.codes])
        return
    table = Table("code", "explains", "note needed", "label", "标签")
    for code in codes.codes:
        table.add_row(
            code.code,
            ", ".join(sorted(d.value for d in code.applies_to)),
            "yes" if code.needs_note else "",
            code.label.en,
            code.label.zh,
        )
    console.print(table)


AdminOption = Annotated[str, typer.Option("--by", help="Administrator making the change.")]


@team_app.command("add")
@handle_errors
def team_add_command(
    team: Annotated[str, typer.Argument(help="Team name (the queue).")],
    username: Annotated[str, typer.Argument(help="Reviewer to add.")],
    by: AdminOption,
    data_dir: DataDirOption = None,
) -> None:
    """Let a reviewer work a team's queue."""
    with session_for(data_dir) as session:
        add_team_member(session, team=team, username=username, by=by)
    console.print(f"{username} now works the queue of {team}")


@team_app.command("remove")
@handle_errors
def team_remove_command(
    team: Annotated[str, typer.Argument(help="Team name (the queue).")],
    username: Annotated[str, typer.Argument(help="Reviewer to remove.")],
    by: AdminOption,
    data_dir: DataDirOption = None,
) -> None:
    """Take a reviewer off a team's queue."""
    with session_for(data_dir) as session:
        remove_team_member(session, team=team, username=username, by=by)
    console.print(f"{username} no longer works the queue of {team}")


@team_app.command("list")
@handle_errors
def team_list_command(
    team: Annotated[str | None, typer.Argument(help="Only this team.")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Team members (guardians work their agents' items whatever their team)."""
    with session_for(data_dir) as session:
        members = list_team_members(session, team=team)
    if as_json:
        print_json([asdict(member) for member in members])
        return
    table = Table("team", "reviewer", "added by", "added at")
    for member in members:
        table.add_row(member.team, member.username, member.added_by, member.added_at)
    console.print(table)


# --- appeals ---------------------------------------------------------------------


def _print_appeal(appeal: AppealRead, as_json: bool) -> None:
    if as_json:
        print_json(appeal.as_dict())
        return
    console.print(f"appeal {appeal.id} on case {appeal.case_id}: {appeal.state}")
    if appeal.outcome:
        console.print(f"{appeal.outcome} by {appeal.decided_by}: {appeal.reason}")
    else:
        console.print(f"may not be decided by: {', '.join(sorted(appeal.excluded)) or 'nobody'}")


@appeals_app.command("file")
@handle_errors
def appeal_file_command(
    decision: Annotated[
        str, typer.Option("--decision", help="Id of the decision (proposal) appealed.")
    ],
    grounds: Annotated[str, typer.Option("--grounds", help="Why the citizen appeals.")],
    token: Annotated[
        str | None, typer.Option("--token", help="The case's secret token (or --token-stdin).")
    ] = None,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the token from standard input.")
    ] = False,
    entered_by: Annotated[
        str | None,
        typer.Option("--entered-by", help="Staff user filing it for the citizen (assisted)."),
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """File a citizen's appeal against one decision on their case."""
    if token_stdin:
        token = sys.stdin.readline().strip()
    if not token:
        raise fail("token: give --token or --token-stdin")
    settings = settings_for(data_dir)
    with session_for(data_dir) as session:
        appeal = file_appeal(
            session,
            token=token,
            proposal_id=decision,
            grounds=grounds,
            entered_by=entered_by,
            config=load_control_config(settings),
        )
    _print_appeal(appeal, as_json)


@appeals_app.command("list")
@handle_errors
def appeal_list_command(
    eligible: Annotated[
        str | None,
        typer.Option("--eligible", help="Only appeals this user may decide (took no part)."),
    ] = None,
    all_states: Annotated[bool, typer.Option("--all", help="Decided ones too.")] = False,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open appeals, oldest first."""
    with session_for(data_dir) as session:
        if eligible is not None:
            get_user(session, username=eligible)  # a mistyped name is not "no appeals"
        appeals = list_appeals(
            session, states=None if all_states else ("filed",), eligible=eligible, limit=1_000
        )
    if as_json:
        print_json([appeal.as_dict() for appeal in appeals])
        return
    table = Table("appeal", "case", "decision", "agent", "filed", "state", "outcome")
    for appeal in appeals:
        table.add_row(
            appeal.id,
            appeal.case_id,
            appeal.proposal_id,
            appeal.agent_id,
            appeal.filed_at[:16].replace("T", " "),
            appeal.state,
            appeal.outcome or "",
        )
    console.print(table)


@appeals_app.command("decide")
@handle_errors
def appeal_decide_command(
    appeal: Annotated[str, typer.Argument(help="Id of the appeal.")],
    by: Annotated[str, typer.Option("--by", help="Reviewer deciding (took no part before).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the decision).")],
    uphold: Annotated[
        bool,
        typer.Option(
            "--uphold/--dismiss",
            help="Uphold (the original decision was wrong; the case re-opens) or dismiss.",
        ),
    ],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Uphold or dismiss an appeal."""
    settings = settings_for(data_dir)
    with session_for(data_dir) as session:
        decided = decide_appeal(
            session,
            appeal_id=appeal,
            by=by,
            outcome="upheld" if uphold else "dismissed",
            reason=reason,
            config=load_control_config(settings),
            autonomy_policy=AutonomyPolicy.from_settings(settings),
        )
    _print_appeal(decided, as_json)


# --- autonomy --------------------------------------------------------------------


def _print_autonomy(shown: AutonomyRead, as_json: bool) -> None:
    if as_json:
        print_json(shown.as_dict())
        return
    console.print(
        f"agent {shown.agent_id}: level {shown.effective} - {shown.description}\n"
        f"  held {shown.level}, grade ceiling {shown.ceiling}; last changed "
        f"{shown.changed_at or 'never'} by {shown.changed_by or '-'}"
    )
    if shown.last_metrics:
        metrics = shown.last_metrics
        console.print(
            f"  last evaluated {shown.evaluated_at}: {metrics['decisions']} decisions, "
            f"override rate {metrics['override_rate']}, upheld-appeal rate "
            f"{metrics['upheld_appeal_rate']}, negative-list rate {metrics['negative_list_rate']}, "
            f"group gap {(metrics['group_gap'] or {}).get('gap')}"
        )
    for change in shown.history:
        console.print(
            f"  {change.changed_at}: {change.direction} {change.from_level} -> "
            f"{change.to_level} by {change.changed_by}: {change.reason}"
        )


@autonomy_app.command("show")
@handle_errors
def autonomy_show_command(
    agent: Annotated[str, typer.Argument(help="Agent id.")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """An agent's autonomy level, its grade's ceiling, its latest numbers and changes."""
    policy = AutonomyPolicy.from_settings(settings_for(data_dir))
    with session_for(data_dir) as session:
        get_agent(session, agent_id=agent)  # the registry must know the agent
        shown = get_autonomy(session, agent_id=agent, policy=policy)
    _print_autonomy(shown, as_json)


@autonomy_app.command("raise")
@handle_errors
def autonomy_raise_command(
    agent: Annotated[str, typer.Argument(help="Agent id.")],
    to: Annotated[
        int, typer.Option("--to", min=0, max=3, help="The new level (0-3, at most the grade's).")
    ],
    by: Annotated[str, typer.Option("--by", help="The agent's guardian, signing it off.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the agent may act more alone.")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Raise an agent's autonomy level (its guardian's sign-off)."""
    policy = AutonomyPolicy.from_settings(settings_for(data_dir))
    with session_for(data_dir) as session:
        shown = raise_level(
            session, agent_id=agent, to_level=to, by=by, reason=reason, policy=policy
        )
    _print_autonomy(shown, as_json)


@autonomy_app.command("lower")
@handle_errors
def autonomy_lower_command(
    agent: Annotated[str, typer.Argument(help="Agent id.")],
    to: Annotated[int, typer.Option("--to", min=0, max=3, help="The new, lower level (0-3).")],
    by: Annotated[
        str, typer.Option("--by", help="The agent's guardian, backup guardian or an administrator.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the agent must act less alone.")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lower an agent's autonomy level by hand, at once."""
    policy = AutonomyPolicy.from_settings(settings_for(data_dir))
    with session_for(data_dir) as session:
        shown = lower_level(
            session, agent_id=agent, to_level=to, by=by, reason=reason, policy=policy
        )
    _print_autonomy(shown, as_json)


@autonomy_app.command("evaluate")
@handle_errors
def autonomy_evaluate_command(
    agents: Annotated[
        list[str] | None, typer.Argument(help="Agent ids (default: every filed agent).")
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the controller now: lower any agent whose recent numbers breach a threshold."""
    policy = AutonomyPolicy.from_settings(settings_for(data_dir))
    with session_for(data_dir) as session:
        for agent_id in agents or ():
            get_agent(session, agent_id=agent_id)  # the registry must know each one named
        ids = agents or [agent.agent_id for agent in list_agents(session)]
        results = evaluate_all(session, agent_ids=ids, policy=policy)
    if as_json:
        print_json(
            [
                {
                    "agent_id": r.agent_id,
                    "from_level": r.from_level,
                    "to_level": r.to_level,
                    "lowered": r.lowered,
                    "metrics": r.metrics,
                    "breaches": list(r.breaches),
                }
                for r in results
            ]
        )
        return
    for result in results:
        what = (
            f"lowered {result.from_level} -> {result.to_level}"
            if result.lowered
            else f"holds level {result.to_level} ({AutonomyLevel(result.to_level).name.lower()})"
        )
        console.print(f"{result.agent_id}: {what}")

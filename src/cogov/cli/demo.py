"""`cogov demo`: the main job a new user runs. From nothing, in a fresh data
directory on SQLite: file and activate a demo agent with its guardians, train it
on the first part of a real 311 history, replay the rest as live requests
through the whole governed path, show both logics side by side, then serve the
web UI."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from cogov.cli.context import (
    DataDirOption,
    console,
    engine_for,
    err_console,
    fail,
    handle_errors,
    print_json,
    settings_for,
)
from cogov.core.clock import SystemClock
from cogov.db.session import unit_of_work
from cogov.ledger import signing_key
from cogov.pipeline import Deployment
from cogov.pipeline import demo as runner
from cogov.pipeline.history import PRESETS, columns_for, read_split
from cogov.triage.duplicates import DuplicateIndex
from cogov.triage.protocol import TriageEngine

MARKER = ".cogov-demo"
DEFAULT_DIR = Path(".cogov-demo")
SHARED_SAMPLE = "../shared/data/nyc311_2018-10-21/311_sample.csv"
# NYC 311 on the city's open-data portal (Socrata SODA API), newest first.
NYC_SODA = "https://data.cityofnewyork.us/resource/erm2-nwe9.csv"
NYC_COLUMNS = (
    "unique_key,created_date,agency,complaint_type,descriptor,location_type,"
    "incident_address,latitude,longitude,open_data_channel_type,resolution_description"
)

ColumnOption = Annotated[str | None, typer.Option(show_default=False)]


def _claim_directory(path: Path) -> None:
    """Make sure the demo may start from nothing here: a new or empty directory is
    marked as the demo's; a file, or a non-empty directory the demo did not make, is
    refused. Nothing is emptied yet (see :func:`_empty_directory`)."""
    if path.exists() and not path.is_dir():
        raise fail(f"--data-dir: {path} is a file, not a directory", field="--data-dir")
    if path.exists() and any(path.iterdir()) and not (path / MARKER).exists():
        raise fail(
            f"{path} is not empty and was not made by `cogov demo`; "
            "choose a new --data-dir (the demo starts from nothing)"
        )
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("made by cogov demo; emptied on the next run\n")


def _empty_directory(path: Path) -> None:
    """Empty a directory the demo made before (its download cache kept): done only once
    the history has been read, so a run refused for its input leaves the last one."""
    for child in path.iterdir():
        if child.name not in (MARKER, "downloads"):
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def _download_sample(folder: Path, limit: int, out: Console) -> Path:
    """A fresh sample of NYC 311 from the city's open-data API, cached by day."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"nyc311-{time.strftime('%Y-%m-%d')}-{limit}.csv"
    if target.exists() and target.stat().st_size > 0:
        out.print(f"using the sample downloaded earlier today: {target}")
        return target
    params = {"$limit": str(limit), "$order": "created_date DESC", "$select": NYC_COLUMNS}
    partial = target.with_suffix(".part")
    try:
        with httpx.stream("GET", NYC_SODA, params=params, timeout=30.0) as response:
            response.raise_for_status()
            size = int(response.headers.get("content-length", 0)) or None
            with (
                Progress(
                    TextColumn("downloading NYC 311 sample"),
                    BarColumn(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    console=console,
                ) as bar,
                partial.open("wb") as handle,
            ):
                task = bar.add_task("download", total=size)
                for chunk in response.iter_bytes():
                    handle.write(chunk)
                    bar.advance(task, len(chunk))
    except httpx.HTTPError as exc:
        partial.unlink(missing_ok=True)
        raise fail(
            f"could not download a sample from {NYC_SODA} ({type(exc).__name__}); "
            f"no internet? pass --history FILE, e.g. --history {SHARED_SAMPLE} --preset nyc311"
        ) from None
    partial.replace(target)
    return target


def _bar(out: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _pairs() -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(no_wrap=True, overflow="ellipsis", max_width=32)
    table.add_column(overflow="fold", min_width=12)
    return table


def _print_side_by_side(measures: runner.Measures, replayed: int, available: int) -> None:
    data = measures.as_dict()
    eff, gov = data["efficiency"], data["co_governance"]
    efficiency = _pairs()
    efficiency.add_row(
        "cases replayed",
        f"{eff['cases']:,}"
        + (f" (of {available:,}; --limit 0 for all)" if replayed < available else ""),
    )
    efficiency.add_row("without a human", _pct(eff["share_without_a_human"]))
    efficiency.add_row("routed by the agent", f"{eff['auto_routed']:,}")
    efficiency.add_row(
        "  matching the agency's choice", _pct(eff["auto_routed_matching_the_agency"])
    )
    route = eff["time_to_route_ms_median"]
    # Shown whenever a repeat finder was deployed: 0 merges is a result (its learnt
    # threshold may leave every merge to a person), not a row to hide.
    if eff["merged_as_repeats_by_an_agent"] or runner.DEDUP_ID in gov["autonomy"]:
        efficiency.add_row("merged as repeats", f"{eff['merged_as_repeats_by_an_agent']:,}")
        efficiency.add_row(
            "  as the agency judged",
            _pct(eff["merges_the_agency_also_closed_as_duplicates"]),
        )
    efficiency.add_row(
        "time to route (p50/p90)",
        "n/a" if route is None else f"{route:.1f} ms / {eff['time_to_route_ms_p90']:.1f} ms",
    )
    efficiency.add_row("throughput", f"{eff['cases_per_second']:.0f} cases/s")

    governance = _pairs()
    decisions = gov["human_decisions"]
    governance.add_row(
        "human decisions",
        f"{sum(decisions.values()):,} (approve {decisions.get('approve', 0):,}, "
        f"edit {decisions.get('edit', 0):,}, reject {decisions.get('reject', 0):,})",
    )
    governance.add_row(
        "overrides of the agent", f"{gov['overrides']:,} ({_pct(gov['override_rate'])})"
    )
    verdicts = gov["verdicts"]
    governance.add_row(
        "verdicts",
        ", ".join(f"{name} {count:,}" for name, count in sorted(verdicts.items())) or "none",
    )
    if gov["decided_by"]:
        governance.add_row("sent to a human by", "")
    for ref, count in gov["decided_by"].items():
        governance.add_row(f" {ref}", f"{count:,}")
    governance.add_row("explained", _pct(gov["explanation_coverage"]))
    for agent, state in gov["autonomy"].items():
        lowered = f", lowered {state['lowered']}x by the controller" if state["lowered"] else ""
        governance.add_row(f"autonomy {agent}", f"level {state['level_now']}{lowered}")
    ledger = (
        f"[green]verified[/] ({gov['ledger_entries']:,} entries, signed checkpoint)"
        if gov["ledger_verified"]
        else f"[red]FAILED[/]: {gov['ledger_problem']}"
    )
    governance.add_row("ledger", ledger)

    title = "cogov demo: both logics, side by side"
    if console.width >= 110:
        side = Table(title=title, expand=False)
        side.add_column("efficiency", vertical="top")
        side.add_column("co-governance", vertical="top")
        side.add_row(efficiency, governance)
        console.print(side)
    else:  # a narrow terminal: one above the other, still read together
        for heading, part in (("efficiency", efficiency), ("co-governance", governance)):
            frame = Table(title=title if heading == "efficiency" else None, expand=False)
            frame.add_column(heading)
            frame.add_row(part)
            console.print(frame)
    console.print(
        "[bold]Note:[/] where a human was needed, this replay used what the agency really "
        "did (its real department, and whether it closed the request as a duplicate, as "
        "recorded in the history) as the guardian's decision; no person reviewed these "
        "cases today."
        + (
            f" {gov['left_for_people']:,} queued proposals were left for a person (the history "
            "holds no decision about them that can still take effect)."
            if gov["left_for_people"]
            else ""
        )
        + (
            f" {gov['cancelled_when_the_case_was_merged']:,} were cancelled before their turn "
            "because a decision merged their case as a repeat."
            if gov["cancelled_when_the_case_was_merged"]
            else ""
        )
    )


@handle_errors
def demo_command(
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            help="A labelled 311 history (CSV or Parquet). Without it, a fresh NYC 311 "
            "sample is downloaded from the city's open-data API and cached.",
            show_default=False,
        ),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option("--preset", help=f"Column preset: {', '.join(sorted(PRESETS))}."),
    ] = None,
    text_col: Annotated[
        list[str] | None,
        typer.Option("--text-col", help="Text column the agent reads (repeatable)."),
    ] = None,
    label_col: ColumnOption = None,
    id_col: ColumnOption = None,
    created_col: ColumnOption = None,
    service_col: ColumnOption = None,
    channel_col: ColumnOption = None,
    outcome_col: ColumnOption = None,
    lat_col: ColumnOption = None,
    long_col: ColumnOption = None,
    address_col: ColumnOption = None,
    train_share: Annotated[
        float,
        typer.Option("--train-share", help="Share of the history (oldest first) to learn from."),
    ] = 0.5,
    limit: Annotated[
        int,
        typer.Option("--limit", min=0, help="Replay at most this many requests (0: all the rest)."),
    ] = 2000,
    download_rows: Annotated[
        int, typer.Option("--download-rows", min=100, max=50_000, help="Rows to download.")
    ] = 5000,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the web UI afterwards.")
    ] = True,
    host: Annotated[str, typer.Option("--host", help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve on.")] = 8311,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the measures as JSON.")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Run the governed path on a real history: learn, replay, measure, verify, serve."""
    started = time.perf_counter()
    # With --json, stdout carries the JSON alone; progress and notes go to stderr.
    out = err_console if json_output else console
    folder = data_dir or DEFAULT_DIR
    _claim_directory(folder)
    if history is None:
        history = _download_sample(folder / "downloads", download_rows, out)
        preset = preset or "nyc311-api"
    overrides: dict[str, Any] = {
        "text": tuple(text_col or ()),
        "label": label_col,
        "id": id_col,
        "created": created_col,
        "service": service_col,
        "channel": channel_col,
        "outcome": outcome_col,
        "latitude": lat_col,
        "longitude": long_col,
        "address": address_col,
    }
    columns = columns_for(preset, overrides)
    split = read_split(history, columns, train_share=train_share, replay_limit=limit or None)
    _empty_directory(folder)
    settings = settings_for(folder).model_copy(update={"database_url": None})
    out.print(
        f"history: {history} ({split.rows_read:,} rows, {split.dropped:,} without text or "
        f"department); learning from {len(split.train):,}, replaying {len(split.replay):,}"
    )
    db = engine_for(settings)
    clock = SystemClock()
    try:
        with _bar(out) as bar:
            tasks: dict[str, TaskID] = {}

            def report(what: str, done: int, total: int) -> None:
                if what not in tasks:
                    label = "replaying requests" if what == "replay" else f"training: {what}"
                    tasks[what] = bar.add_task(label, total=total)
                bar.update(tasks[what], completed=done, total=total)

            engine = runner.train_router(split, progress=report)
            engines: dict[str, TriageEngine] = {runner.AGENT_ID: engine}
            duplicates = None
            if split.columns.duplicate_pattern and any(r.was_duplicate for r in split.train):
                report("repeat finder", 0, 1)
                try:
                    duplicates = runner.train_duplicates(split)
                except ValueError as exc:
                    out.print(f"repeat finder not deployed: {exc}")
                else:
                    engines[runner.DEDUP_ID] = DuplicateIndex(duplicates.settings)
                    out.print(f"repeat finder: {duplicates.describe()}")
                report("repeat finder", 1, 1)
            with unit_of_work(db) as session:
                grade = runner.set_up_agency(
                    session, split=split, engine=engine, duplicates=duplicates, clock=clock
                )
            deployment = Deployment.from_settings(
                settings, engines=engines, catalogue=split.catalogue, clock=clock
            )
            tasks["replay"] = bar.add_task("replaying requests", total=len(split.replay))
            tally = runner.replay(db, split, deployment, progress=report)
        measures = runner.measure(
            tally, db=db, key=signing_key(settings), clock=clock, agent_ids=list(engines)
        )
    finally:
        db.dispose()
    _write_agency_files(folder, split)
    if json_output:
        print_json({**measures.as_dict(), "seconds": round(time.perf_counter() - started, 1)})
    else:
        _print_side_by_side(measures, len(split.replay), split.replay_available)
        console.print(
            f"agents: {', '.join(deployment.engines)} (router grade {grade}), guardian "
            f"{runner.GUARDIAN}; data in {folder}; {time.perf_counter() - started:.0f} s"
        )
    if not measures.ledger_ok:
        raise typer.Exit(1)
    if serve:
        _serve(folder, host, port)


def _write_agency_files(folder: Path, split: Any) -> None:
    """The demo's catalogue (the history's services) for the web UI to offer."""
    agency = folder / "agency"
    agency.mkdir(exist_ok=True)
    data = split.catalogue.model_dump(mode="json", exclude_defaults=True)
    (agency / "services.yaml").write_text(
        "# Services found in the replayed history (written by cogov demo).\n"
        + yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )


def _serve(folder: Path, host: str, port: int) -> None:
    try:
        from cogov.cli.serve import serve_command
    except ImportError:
        console.print("the web app is not part of this build yet: nothing to serve")
        return
    os.environ["COGOV_AGENCY_CONFIG_DIR"] = str((folder / "agency").resolve())
    console.print(
        f"signing in: users {runner.GUARDIAN} (guardian) and {runner.ADMIN} have no password; "
        f"set one with `cogov users` --data-dir {folder}"
    )
    serve_command(host=host, port=port, data_dir=folder)

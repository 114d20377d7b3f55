"""`cogov triage`: train an engine on an agency's labelled history, measure it, ask it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cogov.cli.context import (
    DataDirOption,
    JsonOption,
    console,
    err_console,
    handle_errors,
    non_empty_path,
    print_json,
    settings_for,
)
from cogov.triage import (
    ActionKind,
    Proposal,
    TrainingOptions,
    evaluate,
    load_engine,
    read_history,
    train,
)
from cogov.triage.classifier import Progress as ProgressReport
from cogov.triage.errors import TriageInputError

app = typer.Typer(
    help="Train, measure and ask the triage engine (the digital employee).",
    no_args_is_help=True,
)

DataFile = Annotated[
    Path,
    typer.Option("--data", help="Labelled history: a CSV or Parquet file.", show_default=False),
]
TextColumns = Annotated[
    list[str],
    typer.Option("--text", help="Text column to read (repeat for several).", show_default=False),
]
LabelColumn = Annotated[
    str, typer.Option("--label", help="Column holding the answer to learn.", show_default=False)
]
ModelDir = Annotated[
    Path, typer.Option("--model", help="Directory of a trained model.", show_default=False)
]


@contextmanager
def _bars(enabled: bool) -> Iterator[ProgressReport]:
    """Rich progress bars on stderr for the long steps (silent under --json)."""
    if not enabled:
        yield lambda _what, _done, _total: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        tasks: dict[str, Any] = {}

        def report(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = progress.add_task(what, total=total)
            progress.update(tasks[what], completed=done, total=total)

        yield report


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text, flags=re.UNICODE).strip("-").lower() or "model"


@app.command("train")
@handle_errors
def train_command(
    data: DataFile,
    text: TextColumns,
    label: LabelColumn,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            parser=non_empty_path,
            help="Directory to write the model to (default: <data-dir>/models/<label>).",
            show_default=False,
        ),
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option("--id", help="Column with case ids (shown as similar past cases)."),
    ] = None,
    action: Annotated[
        ActionKind, typer.Option("--action", help="What the label means for a case.")
    ] = ActionKind.ROUTE,
    target_precision: Annotated[
        float,
        typer.Option(
            "--target-precision",
            min=0.5,
            max=0.9999,
            help="Precision the automatic share must reach in cross-validation.",
        ),
    ] = 0.97,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Learn an engine from a labelled history file (English, Chinese, any labels)."""
    if action in (ActionKind.MARK_DUPLICATE, ActionKind.DRAFT_REPLY):
        raise TriageInputError("--action", f"{action.value} is not learnt from a label column")
    target = out or settings_for(data_dir).data_dir / "models" / _slug(label)
    if target.exists() and not target.is_dir():  # found before training, not after
        raise TriageInputError("--out", f"{target} is a file, not a directory")
    history = read_history(data, text_columns=text, label_column=label, id_column=id_column)
    assert history.labels is not None
    with _bars(not as_json) as report:
        engine = train(
            history.texts,
            history.labels,
            case_ids=history.case_ids,
            action=action,
            text_columns=text,
            label_column=label,
            options=TrainingOptions(target_precision=target_precision),
            progress=report,
        )
        engine.save(target)
    cv = engine.metadata["cross_validation"]
    result = {
        "model_dir": str(target),
        "engine": engine.identity.ref,
        "model_hash": engine.identity.model_hash,
        "rows_read": history.rows_read,
        "rows_used": len(history.texts),
        "dropped_empty_text": history.dropped_empty_text,
        "dropped_empty_label": history.dropped_empty_label,
        "classes": len(engine.classes),
        "threshold": engine.threshold,
        "cross_validation": cv,
    }
    if as_json:
        print_json(result)
        return
    console.print(f"[bold]model[/] {target}  ({engine.identity.ref})")
    console.print(
        f"{len(history.texts):,} rows ({history.dropped_empty_text:,} without text and "
        f"{history.dropped_empty_label:,} without a label dropped), {len(engine.classes)} classes"
    )
    console.print(
        f"cross-validation: accuracy {cv['accuracy']:.3f}, macro-F1 {cv['macro_f1']:.3f} "
        f"(C={cv['C']}, class weight {cv['class_weight']})"
    )
    console.print(
        f"automatic at confidence >= {engine.threshold:.3f}: {cv['auto_share']:.1%} of cases "
        f"at precision {cv['auto_precision']:.3f} (target {target_precision})"
    )


@app.command("eval")
@handle_errors
def eval_command(
    model: ModelDir,
    data: DataFile,
    text: TextColumns,
    label: LabelColumn,
    as_json: JsonOption = False,
) -> None:
    """Measure a trained engine on a labelled file (held-out cases)."""
    engine = load_engine(model)
    history = read_history(data, text_columns=text, label_column=label)
    assert history.labels is not None
    report = evaluate(engine, history.texts, history.labels)
    result = {"model": engine.identity.ref, **report.as_dict()}
    if as_json:
        print_json(result)
        return
    table = Table(title=f"{engine.identity.ref} on {data.name}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        table.add_row(key, shown)
    console.print(table)


def _proposal_json(proposal: Proposal) -> dict[str, Any]:
    return {
        "action": proposal.action.value,
        "value": proposal.value,
        "confidence": round(proposal.confidence, 6),
        "alternatives": [{"value": v, "confidence": c} for v, c in proposal.alternatives],
        "ai_drafted": proposal.ai_drafted,
        "explanation": {
            "summary": proposal.explanation.summary,
            "evidence": [
                {"kind": e.kind.value, "label": e.label, "weight": e.weight}
                for e in proposal.explanation.evidence
            ],
        },
    }


@app.command("predict")
@handle_errors
def predict_command(
    model: ModelDir,
    text: Annotated[str, typer.Option("--text", help="The words of one request.")],
    as_json: JsonOption = False,
) -> None:
    """Ask a trained engine about one request; print its proposal and why."""
    engine = load_engine(model)
    proposal = engine.explain_text(text)
    # The engine's own threshold, chosen on its training data. In a deployment the
    # threshold in force is max(this, the agency's floor for the action), and the
    # negative list, process, grade and autonomy level come first (cogov.control), so
    # reaching it never means the proposal will be applied without a person.
    reaches = proposal.confidence >= engine.threshold
    if as_json:
        print_json(
            {
                "model": engine.identity.ref,
                "engine_threshold": engine.threshold,
                "reaches_engine_threshold": reaches,
                **_proposal_json(proposal),
            }
        )
        return
    console.print(
        f"[bold]{proposal.action.value}[/] -> [bold]{proposal.value}[/] "
        f"(confidence {proposal.confidence:.3f}; "
        f"{'at or above' if reaches else 'below'} the engine's own threshold "
        f"{engine.threshold:.3f}, before the agency's routing policy and rules)",
        highlight=False,
    )
    for value, confidence in proposal.alternatives:
        console.print(f"  or {value} ({confidence:.3f})", highlight=False)
    for evidence in proposal.explanation.evidence:
        console.print(
            f"  {evidence.kind.value:13} {evidence.label}  ({evidence.weight:+.4f})",
            highlight=False,
        )

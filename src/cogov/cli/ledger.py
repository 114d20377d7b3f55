"""`cogov ledger`: verify the accountability ledger, sign checkpoints, print proofs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cogov.cli.context import (
    EXIT_CHECK_FAILED,
    DataDirOption,
    JsonOption,
    console,
    err_console,
    fail,
    handle_errors,
    non_empty_path,
    print_json,
    session_for,
    settings_for,
)
from cogov.ledger import (
    consistency_proof,
    inclusion_proof,
    make_checkpoint,
    signing_key,
    verify,
)
from cogov.ledger.errors import SigningKeyUnusable
from cogov.ledger.keys import LedgerKey
from cogov.ledger.note import CheckpointError, parse_public_key_pem
from cogov.ledger.proofs import BundleInvalid, verify_bundle
from cogov.ledger.service import entry_count, export_entries

app = typer.Typer(
    help="The accountability ledger: verify it, sign checkpoints, prove entries.",
    no_args_is_help=True,
)

PublicKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--public-key",
        help="PEM public key to check checkpoints with (default: the data dir's own key).",
        show_default=False,
    ),
]


def _read_text(path: Path, field: str) -> str:
    """A file named on the command line, as text; one line naming it if it is not."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"{field}: {path}: not UTF-8 text (byte {exc.start})", field=field) from None


def _read_public_key(path: Path) -> Any:
    try:
        return parse_public_key_pem(_read_text(path, "--public-key"))
    except CheckpointError as exc:
        raise fail(f"--public-key: {path}: {exc}", field="--public-key") from None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


@app.command("verify")
@handle_errors
def verify_command(
    data_dir: DataDirOption = None,
    public_key_file: PublicKeyOption = None,
    as_json: JsonOption = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=2,
            help="Processes hashing entries (2 halves the time of a large ledger).",
        ),
    ] = min(2, os.cpu_count() or 1),
) -> None:
    """Check chain, entry hashes and signed checkpoints; exit 1 naming the first bad seq."""
    settings = settings_for(data_dir)
    if public_key_file is not None:
        public_key = _read_public_key(public_key_file)
    else:
        try:
            public_key = signing_key(settings, create=False).public_key
        except SigningKeyUnusable:
            public_key = None  # no key yet: fine while there are no checkpoints
    with session_for(data_dir, read_only=True) as session, _progress() as progress:
        task = progress.add_task("verifying", total=entry_count(session))
        report = verify(
            session,
            public_key=public_key,
            progress=lambda done: progress.update(task, completed=done),
            workers=workers,
        )
    if as_json:
        print_json(report.as_dict())
    elif report.ok:
        where = (
            f"; checkpoint {report.checkpoints} signs tree size {report.checkpoint_size}, "
            f"root {report.checkpoint_root}, consistent with every earlier one"
            if report.checkpoints
            else "; no checkpoint yet (run `cogov ledger checkpoint`)"
        )
        console.print(
            f"ok: {report.entries} entries, chain and hashes intact{where}",
            highlight=False,
            soft_wrap=True,
        )
    if report.problem is not None:
        if not as_json:
            err_console.print(
                f"[bold red]ledger check failed:[/] {report.problem.message}",
                highlight=False,
                soft_wrap=True,
            )
        raise typer.Exit(EXIT_CHECK_FAILED)


def _stage(out: Path, text: str) -> Path:
    """Write ``text`` beside ``out`` (a hidden partial file) for an atomic replace."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(text, encoding="utf-8")
    return partial


def _key(data_dir: Path | None) -> LedgerKey:
    return signing_key(settings_for(data_dir))


@app.command("checkpoint")
@handle_errors
def checkpoint_command(
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            parser=non_empty_path,
            help="Also write the signed note to this file, replaced atomically (publish it "
            "where auditors fetch it, as a transparency log serves /checkpoint).",
        ),
    ] = None,
) -> None:
    """Sign a checkpoint over every entry so far (creating the key on first use) and print it."""
    if out is not None and out.is_dir():
        raise fail(f"--out: {out} is a directory; name the file to write", field="--out")
    key = _key(data_dir)
    with session_for(data_dir) as session:
        made = make_checkpoint(session, key=key)
        # Staged before the commit: a file that cannot be written leaves no checkpoint.
        partial = _stage(out, made.note) if out is not None else None
    if out is not None and partial is not None:
        partial.replace(out)
    if as_json:
        print_json(
            {
                "origin": made.origin,
                "tree_size": made.size,
                "root_hash": made.root_hex,
                "time": made.time,
                "note": made.note,
                "verifier_key": key.verifier_key,
            }
        )
    else:
        sys.stdout.write(made.note)


@app.command("prove")
@handle_errors
def prove_command(
    seq: Annotated[int, typer.Argument(help="Sequence number of the entry.")],
    size: Annotated[
        int | None,
        typer.Option("--size", help="Tree size (default: the latest checkpoint's).", min=0),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print an inclusion proof as JSON, with the signed checkpoint and the public key."""
    key = _key(data_dir)
    with session_for(data_dir, read_only=True) as session:
        proof = inclusion_proof(session, seq, size)
    print_json(proof.bundle(public_key_pem=key.public_key_pem, verifier_key=key.verifier_key))


@app.command("consistency")
@handle_errors
def consistency_command(
    old: Annotated[int, typer.Argument(help="Older tree size.", min=0)],
    new: Annotated[
        int | None, typer.Argument(help="Newer tree size (default: the latest checkpoint's).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print a consistency proof (OLD is a prefix of NEW) as JSON, with both checkpoints."""
    key = _key(data_dir)
    with session_for(data_dir, read_only=True) as session:
        proof = consistency_proof(session, old, new)
    print_json(proof.bundle(public_key_pem=key.public_key_pem, verifier_key=key.verifier_key))


@app.command("check-proof")
@handle_errors
def check_proof_command(
    bundle_file: Annotated[Path, typer.Argument(help="JSON printed by `prove` or `consistency`.")],
    public_key_file: PublicKeyOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check a proof offline, as a third party would: only the public key is trusted.

    The key is --public-key (the log's published key), else the key of --data-dir;
    with neither, the key inside the bundle is used, which shows only that the bundle
    is self-consistent (a warning says so).
    """
    try:
        bundle = json.loads(_read_text(bundle_file, "BUNDLE_FILE"))
    except json.JSONDecodeError as exc:
        raise fail(f"{bundle_file}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(bundle, dict):
        raise fail(f"{bundle_file}: not a proof bundle (a JSON object)")
    if public_key_file is not None:
        _read_public_key(public_key_file)  # a key that is no key is bad input, not a bad proof
        pem = _read_text(public_key_file, "--public-key")
    elif data_dir is not None:
        pem = signing_key(settings_for(data_dir), create=False).public_key_pem
    else:
        pem = str(bundle.get("public_key_pem", ""))
        err_console.print(
            "warning: no --public-key given: checked against the key inside the bundle, "
            "which proves only that the bundle is self-consistent",
            highlight=False,
            soft_wrap=True,
        )
    try:
        summary = verify_bundle(bundle, pem)
    except BundleInvalid as exc:
        err_console.print(f"[bold red]proof invalid:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_CHECK_FAILED) from None
    console.print(f"ok: {summary}", highlight=False, soft_wrap=True)


@app.command("export")
@handle_errors
def export_command(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", parser=non_empty_path, help="Write to this file (default: standard output)."
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write every entry as JSON lines, oldest first."""
    with session_for(data_dir, read_only=True) as session:
        if out is None:
            _export(session, sys.stdout, None)
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as handle, _progress() as progress:
            task = progress.add_task(f"exporting to {out}", total=entry_count(session))
            written = _export(session, handle, lambda n: progress.update(task, completed=n))
    err_console.print(f"wrote {written} entries to {out}", highlight=False)


def _export(session: Any, handle: TextIO, on_progress: Any) -> int:
    written = 0
    for line in export_entries(session):
        handle.write(line)
        handle.write("\n")
        written += 1
        if on_progress is not None and not written % 10_000:
            on_progress(written)
    return written


@app.command("public-key")
@handle_errors
def public_key_command(
    data_dir: DataDirOption = None,
    note: Annotated[
        bool,
        typer.Option("--note", help="Print the signed-note verifier key instead of PEM."),
    ] = False,
) -> None:
    """Print the public key that checks every checkpoint (creating the key pair if absent)."""
    key = _key(data_dir)
    sys.stdout.write(f"{key.verifier_key}\n" if note else key.public_key_pem)

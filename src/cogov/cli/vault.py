"""`cogov vault`: the contact vault's encryption keys, and re-sealing rows under the
current one (also how rows from before the vault was encrypted get sealed)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from cogov.cli.context import (
    DataDirOption,
    JsonOption,
    console,
    engine_for,
    fail,
    handle_errors,
    print_json,
    settings_for,
)
from cogov.db.session import unit_of_work
from cogov.identity import require_active_user
from cogov.intake import VaultKeyring, record_rotation, reseal_batch, vault_status
from cogov.intake.vault import key_file_path, load_keyring, save_key_file

app = typer.Typer(
    help="The contact vault (citizens' contact details, AES-256-GCM at rest): its keys "
    "and key rotation.",
    no_args_is_help=True,
)


@app.command("status")
@handle_errors
def status_command(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Rows per key, rows still in plaintext, and rows waiting for `cogov vault rotate`."""
    settings = settings_for(data_dir)
    keyring = load_keyring(settings)
    engine = engine_for(settings)
    try:
        with unit_of_work(engine) as session:
            status = vault_status(session, vault=keyring)
    finally:
        engine.dispose()
    if as_json:
        print_json({**asdict(status), "key_source": keyring.source})
        return
    console.print(f"current key [bold]{status.current_key}[/] (from {keyring.source})")
    for key_id, count in status.rows_by_key.items():
        console.print(f"  {key_id}: {count} rows")
    console.print(f"  plaintext (not yet sealed): {status.plaintext_rows} rows")
    console.print(f"to re-seal under the current key: [bold]{status.rows_to_reseal}[/] rows")
    if status.missing_keys:
        console.print(f"[bold red]keys not configured:[/] {', '.join(status.missing_keys)}")


@app.command("rotate")
@handle_errors
def rotate_command(
    data_dir: DataDirOption = None,
    new_key: Annotated[
        bool,
        typer.Option(
            "--new-key",
            help="First add a fresh key to the key file and make it current (old keys stay, "
            "so rows not yet re-sealed still open).",
        ),
    ] = False,
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", min=1, max=100_000, help="Rows re-sealed per transaction."),
    ] = 500,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="The staff user rotating the keys, named in the ledger (else system:vault).",
        ),
    ] = None,
) -> None:
    """Re-seal every vault row under the current key, batch by batch (each batch its
    own transaction with its `vault.resealed` ledger entry, so an interrupted run
    resumes where it stopped), then record `vault.rotated`. Plaintext rows from
    before the vault was encrypted are sealed too."""
    settings = settings_for(data_dir)
    keyring = load_keyring(settings)
    if new_key and settings.vault_keys is not None:
        raise fail(
            "--new-key: the keys come from COGOV_VAULT_KEYS; put a new id:base64key "
            "pair first in it instead"
        )
    engine = engine_for(settings)
    try:
        if by is not None:
            with unit_of_work(engine) as session:  # before a new key is written
                require_active_user(session, username=by)
        if new_key:
            keyring = keyring.with_new_key()
            save_key_file(key_file_path(settings), keyring)
            console.print(f"new current key [bold]{keyring.current}[/]")
        with unit_of_work(engine) as session:
            total = vault_status(session, vault=keyring).rows_to_reseal
        done = _reseal_all(engine, keyring, batch_size, total, by=by, new_key=new_key)
    finally:
        engine.dispose()
    console.print(f"re-sealed {done} rows under key [bold]{keyring.current}[/]")


def _reseal_all(
    engine: Engine,
    keyring: VaultKeyring,
    batch_size: int,
    total: int,
    *,
    by: str | None,
    new_key: bool,
) -> int:
    """Each batch commits with its own ``vault.resealed`` entry; the transaction that
    finds no row left records ``vault.rotated`` (so an interrupted run leaves its
    finished batches recorded, and no ``vault.rotated`` until a run completes)."""
    resealed: dict[str | None, int] = {}
    batches = 0
    with Progress(
        TextColumn("re-sealing the contact vault"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("reseal", total=total)
        while True:
            with unit_of_work(engine) as session:
                sealed = reseal_batch(
                    session, vault=keyring, limit=batch_size, by=by, batch=batches + 1
                )
                if not sealed:
                    record_rotation(
                        session,
                        vault=keyring,
                        resealed=resealed,
                        batches=batches,
                        new_key=new_key,
                        by=by,
                    )
                    return sum(resealed.values())
            batches += 1
            for key_id, count in sealed.items():
                resealed[key_id] = resealed.get(key_id, 0) + count
            done = sum(resealed.values())
            progress.update(task, advance=sum(sealed.values()), total=max(total, done))

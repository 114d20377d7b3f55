"""Entry point of the `cogov` command: one group per domain."""

from __future__ import annotations

import typer
from click.exceptions import UsageError

from cogov import __version__
from cogov.cli import audit, db, demo, ledger, registry, review, serve, tokens, triage, users, vault

app = typer.Typer(
    name="cogov",
    help="cogov: AI digital employees for citizen requests, under human-machine co-governance.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(ledger.app, name="ledger")
app.add_typer(users.app, name="users")
app.add_typer(registry.app, name="registry")
app.add_typer(audit.app, name="audit")
app.add_typer(tokens.app, name="tokens")
app.add_typer(triage.app, name="triage")
app.add_typer(review.app, name="review")
app.add_typer(review.appeals_app, name="appeals")
app.add_typer(review.autonomy_app, name="autonomy")
app.add_typer(vault.app, name="vault")
app.command("serve")(serve.serve_command)
app.command("demo")(demo.demo_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cogov {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """cogov: AI digital employees for citizen requests, under human-machine co-governance."""


def main() -> None:
    try:
        app(standalone_mode=True)
    except UsageError as exc:  # pragma: no cover - Typer handles these itself
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None

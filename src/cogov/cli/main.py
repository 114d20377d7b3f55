"""Entry point of the `cogov` command: one group per domain."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from cogov import __version__
from cogov.cli import audit, db, demo, ledger, registry, review, serve, tokens, triage, users, vault
from cogov.cli.context import EXIT_BAD_INPUT, error_json, print_json


def nul_argument(argv: Sequence[str]) -> str | None:
    """The option (else "argument N") whose value holds a NUL character, if any. No
    shell can type one and PostgreSQL text cannot hold one (SQLite would store it), so
    it is refused here, alike on every database, before any command reads it."""
    for index, arg in enumerate(argv):
        if "\x00" not in arg:
            continue
        if arg.startswith("--") and "=" in arg:
            return arg.split("=", 1)[0]
        before = argv[index - 1] if index else ""
        return before if before.startswith("-") else f"argument {index + 1}"
    return None


class JsonErrorsGroup(TyperGroup):
    """The root group: refuses a NUL character in any argument; with --json on the
    command line, a usage error (a missing or malformed option, found before the
    command runs) is also a JSON document on stdout, the shape every command's own
    errors take under --json."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        where = nul_argument(argv)
        if where is not None and standalone_mode:
            message = f"{where}: must not contain a NUL character"
            sys.stderr.write(f"error: {message}\n")
            if "--json" in argv:
                print_json(error_json(message, EXIT_BAD_INPUT, where))
            sys.exit(EXIT_BAD_INPUT)
        if not standalone_mode or "--json" not in argv:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)
        except typer.Abort:
            sys.stderr.write("Aborted!\n")
            sys.exit(1)
        except typer.TyperException as exc:  # click's usage errors, as Typer raises them
            exc.show()  # type: ignore[attr-defined]
            exit_code = int(getattr(exc, "exit_code", EXIT_BAD_INPUT))
            param = getattr(exc, "param", None)
            field = param.opts[0] if param is not None and param.opts else None
            print_json(error_json(exc.format_message(), exit_code, field))
            sys.exit(exit_code)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="cogov",
    cls=JsonErrorsGroup,
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
    app()

"""What every data-touching command shares: settings from `--data-dir`, an engine
with the schema up to date, and the mapping of errors to exit codes."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from alembic.util import CommandError
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session

from cogov.core.errors import CogovError, NotFound, ValidationFailed
from cogov.core.settings import Settings, load_settings
from cogov.db.engine import make_engine
from cogov.db.migrate import upgrade
from cogov.db.session import read_only as reader
from cogov.db.session import unit_of_work

console = Console()
err_console = Console(stderr=True)


def non_empty_path(text: str) -> Path:
    """A path option's value; an empty one (e.g. from an unset shell variable) would
    mean the current directory, silently, so it is refused."""
    if not text.strip():
        raise typer.BadParameter("must not be empty (leave the option out for its default)")
    return Path(text)


DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (overrides COGOV_DATA_DIR; default ./.cogov).",
        show_default=False,
        parser=non_empty_path,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

# Exit codes: 0 ok, 1 a check failed (e.g. ledger verify), 2 bad usage or input, 3 not found.
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_FOUND = 3

P = ParamSpec("P")
R = TypeVar("R")

# Whether the running command was given --json: its errors are then JSON on stdout too.
_json_errors: ContextVar[bool] = ContextVar("cogov_cli_json_errors", default=False)


def settings_for(data_dir: Path | None) -> Settings:
    try:
        settings = load_settings(data_dir=data_dir)
    except ValidationError as exc:
        problem = exc.errors()[0]
        name = "COGOV_" + "_".join(str(part) for part in problem["loc"]).upper()
        raise fail(f"{name}: {problem['msg'].removeprefix('Value error, ')}", field=name) from None
    if settings.data_dir.exists() and not settings.data_dir.is_dir():
        raise fail(
            f"--data-dir: {settings.data_dir} is a file, not a directory", field="--data-dir"
        )
    return settings


def engine_for(settings: Settings, *, migrate: bool = True) -> Engine:
    """An engine on the configured database (its schema brought up to date), or one
    clear error naming the setting when the URL is unusable or the database cannot be
    reached."""
    url = settings.resolved_database_url
    field = "COGOV_DATABASE_URL" if settings.database_url else "--data-dir"
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        raise fail(
            f"{field}: not a database URL (e.g. postgresql+psycopg://user@host/db)", field=field
        ) from None
    try:
        engine = make_engine(url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    except ArgumentError as exc:
        raise fail(f"{field}: {shown}: {exc}", field=field) from None
    except ImportError as exc:
        raise fail(
            f"{field}: {shown}: its database driver is not installed ({exc})", field=field
        ) from None
    except OSError as exc:
        raise fail(f"{field}: cannot create {exc.filename}: {exc.strerror}", field=field) from None
    if migrate:
        try:
            upgrade(engine)
        except DBAPIError as exc:
            engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise fail(f"{field}: cannot use the database {shown}: {reason}", field=field) from None
        except CommandError as exc:  # e.g. a revision only a newer cogov knows
            engine.dispose()
            raise fail(
                f"{field}: the schema of {shown} cannot be brought up to date by this cogov "
                f"({exc}); was it made by a newer version?",
                field=field,
            ) from None
    return engine


@contextmanager
def session_for(data_dir: Path | None, *, read_only: bool = False) -> Iterator[Session]:
    """One command = one unit of work: commit at the end, roll back on any error.
    ``read_only``: a command that only reads (verify, proofs, audits) takes no write
    lock on SQLite, so a server on the same database keeps taking requests meanwhile."""
    engine = engine_for(settings_for(data_dir))
    try:
        with (reader if read_only else unit_of_work)(engine) as session:
            yield session
    finally:
        engine.dispose()


def error_json(message: str, code: int, field: str | None = None) -> dict[str, Any]:
    """The one shape of an error under --json (printed on stdout, like a result)."""
    return {"error": {"message": message, "field": field, "exit_code": code}}


def fail(message: str, code: int = EXIT_BAD_INPUT, *, field: str | None = None) -> typer.Exit:
    """Report one error (one line on stderr; under --json also a JSON document on
    stdout) and return the exit to raise. A message that spans lines (e.g. a YAML
    parser's pointer under the bad line) is folded into one."""
    message = re.sub(r"\s*\n\s*", " ", message.strip())
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    if _json_errors.get():
        print_json(error_json(message, code, field))
    return typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn cogov's errors into one clear line and an exit code, never a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        wants_json = _json_errors.set(bool(kwargs.get("as_json") or kwargs.get("json_output")))
        try:
            return func(*args, **kwargs)
        except NotFound as exc:
            raise fail(exc.message, EXIT_NOT_FOUND) from None
        except ValidationFailed as exc:
            raise fail(exc.message, EXIT_BAD_INPUT, field=exc.field) from None
        except CogovError as exc:
            raise fail(exc.message, EXIT_BAD_INPUT, field=getattr(exc, "field", None)) from None
        except OSError as exc:  # a file or folder named on the command line
            if exc.filename is None:
                raise
            reason = exc.strerror
            if isinstance(exc, FileExistsError) and Path(exc.filename).is_file():
                reason = "is a file, not a directory"  # a folder was to be made there
            raise fail(f"{exc.filename}: {reason}", EXIT_BAD_INPUT) from None
        except UnicodeDecodeError as exc:  # a file read as text that is not
            raise fail(f"a file given is not UTF-8 text (byte {exc.start})") from None
        except DBAPIError as exc:  # e.g. the database went away or stayed locked
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise fail(f"database: {reason}", EXIT_BAD_INPUT) from None
        finally:
            _json_errors.reset(wants_json)

    return wrapper


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")

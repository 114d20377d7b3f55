"""What every data-touching command shares: settings from `--data-dir`, an engine
with the schema up to date, and the mapping of errors to exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cogov.core.errors import CogovError, NotFound, ValidationFailed
from cogov.core.settings import Settings, load_settings
from cogov.db.engine import make_engine
from cogov.db.migrate import upgrade
from cogov.db.session import unit_of_work

console = Console()
err_console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (overrides COGOV_DATA_DIR; default ./.cogov).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

# Exit codes: 0 ok, 1 a check failed (e.g. ledger verify), 2 bad usage or input, 3 not found.
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_FOUND = 3

P = ParamSpec("P")
R = TypeVar("R")


def settings_for(data_dir: Path | None) -> Settings:
    return load_settings(data_dir=data_dir)


def engine_for(settings: Settings, *, migrate: bool = True) -> Engine:
    engine = make_engine(
        settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    if migrate:
        upgrade(engine)
    return engine


@contextmanager
def session_for(data_dir: Path | None) -> Iterator[Session]:
    """One command = one unit of work: commit at the end, roll back on any error."""
    engine = engine_for(settings_for(data_dir))
    try:
        with unit_of_work(engine) as session:
            yield session
    finally:
        engine.dispose()


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn cogov's errors into one clear line and an exit code, never a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except NotFound as exc:
            raise fail(exc.message, EXIT_NOT_FOUND) from None
        except (ValidationFailed, CogovError) as exc:
            raise fail(exc.message, EXIT_BAD_INPUT) from None
        except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            raise fail(f"{exc.filename}: {exc.strerror}", EXIT_BAD_INPUT) from None

    return wrapper


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")

"""`cogov db`: schema migrations."""

from __future__ import annotations

import typer

from cogov.cli.context import DataDirOption, console, engine_for, handle_errors, settings_for
from cogov.db.migrate import current_revisions

app = typer.Typer(help="Database schema: create or upgrade it.", no_args_is_help=True)


@app.command("upgrade")
@handle_errors
def upgrade_command(data_dir: DataDirOption = None) -> None:
    """Create the schema or bring it to the newest migration."""
    settings = settings_for(data_dir)
    engine = engine_for(settings)
    try:
        heads = ", ".join(sorted(current_revisions(engine)))
        console.print(f"database at revision [bold]{heads}[/]")
    finally:
        engine.dispose()

"""The `cogov` command (Typer). Maps domain errors to one clear line and an exit code."""

"""`cogov tokens`: API tokens for machines (Open311 apps, scripts, integrations)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from cogov.cli.context import (
    DataDirOption,
    JsonOption,
    console,
    handle_errors,
    print_json,
    session_for,
)
from cogov.identity import get_user
from cogov.identity.access import ApiTokenRead, issue_api_token, list_api_tokens, revoke_api_token

#: The longest life a token may be given (days): a hundred years, far inside dates'
#: range (a larger number was an OverflowError).
MAX_DAYS = 36_500

app = typer.Typer(help="API tokens: issue (shown once), list, revoke.", no_args_is_help=True)


def token_json(token: ApiTokenRead) -> dict[str, object]:
    return {
        "id": token.id,
        "username": token.username,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


@app.command("issue")
@handle_errors
def issue_command(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "api",
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, max=MAX_DAYS, help="Expire after this many days."),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Administrator issuing it (omit: the operator at this machine)."),
    ] = None,
    json_output: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Issue a token and print it ONCE (only its SHA-256 is stored)."""
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    with session_for(data_dir) as session:
        issued = issue_api_token(session, username=username, name=name, by=by, expires_at=expires)
    if json_output:
        print_json({"token": token_json(issued.token), "secret": issued.secret})
        return
    console.print(f"token {issued.token.id} for [bold]{username}[/] ({issued.token.name})")
    console.print("copy it now; it is not shown again:")
    typer.echo(issued.secret)


@app.command("list")
@handle_errors
def list_command(
    username: Annotated[str | None, typer.Option("--user", help="Only this user's.")] = None,
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    json_output: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """List tokens (never the secrets)."""
    with session_for(data_dir) as session:
        if username is not None:
            get_user(session, username=username)  # a mistyped name is not "no tokens"
        tokens = list_api_tokens(session, username=username, include_revoked=include_revoked)
    if json_output:
        print_json([token_json(token) for token in tokens])
        return
    table = Table("id", "user", "name", "prefix", "created", "expires", "last used", "revoked")
    for token in tokens:
        table.add_row(
            token.id,
            token.username,
            token.name,
            token.prefix + "…",
            f"{token.created_at:%Y-%m-%d %H:%M}",
            f"{token.expires_at:%Y-%m-%d}" if token.expires_at else "-",
            f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "-",
            f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "-",
        )
    console.print(table)


@app.command("revoke")
@handle_errors
def revoke_command(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `cogov tokens list`).")],
    by: Annotated[
        str | None,
        typer.Option(
            "--by", help="Administrator revoking it (omit: the operator at this machine)."
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a token at once."""
    with session_for(data_dir) as session:
        token = revoke_api_token(session, token_id=token_id, by=by)
    console.print(f"token {token.id} of {token.username} revoked")

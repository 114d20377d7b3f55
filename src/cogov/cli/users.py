"""`cogov users`: staff users, their roles and the departments they work for."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from cogov.cli.context import (
    EXIT_BAD_INPUT,
    DataDirOption,
    JsonOption,
    console,
    err_console,
    fail,
    handle_errors,
    print_json,
    session_for,
)
from cogov.core.types import Role
from cogov.identity import (
    UserRead,
    add_user,
    change_departments,
    disable_user,
    enable_user,
    list_users,
    set_roles,
    user_departments,
)
from cogov.identity.access import reset_password
from cogov.registry import agents_guarded_by

app = typer.Typer(help="Staff users and their roles.", no_args_is_help=True)

ByOption = Annotated[
    str, typer.Option("--by", help="Username of the administrator making the change.")
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the ledger).")]


def user_json(user: UserRead) -> dict[str, object]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "roles": [role.value for role in user.roles],
        "active": user.active,
        "has_password": user.has_password,
        "created_at": user.created_at.isoformat(),
        "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
    }


@app.command("add")
@handle_errors
def add_command(
    username: Annotated[str, typer.Argument(help="Staff id, e.g. 'li.wei' or 'r-104'.")],
    role: Annotated[
        list[Role], typer.Option("--role", help="A role to hold (repeat for several).")
    ],
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="Name shown on staff pages.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    by: Annotated[
        str | None,
        typer.Option(
            "--by", help="Administrator adding the user (omit only when setting up the first)."
        ),
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a staff user holding one or more roles."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with session_for(data_dir) as session:
        user = add_user(
            session,
            username=username,
            roles=role,
            display_name=display_name,
            password=password,
            by=by,
        )
    if as_json:
        print_json(user_json(user))
    else:
        roles = ", ".join(r.value for r in user.roles)
        console.print(f"added user [bold]{user.username}[/] ({roles})", highlight=False)


@app.command("list")
@handle_errors
def list_command(
    active_only: Annotated[
        bool, typer.Option("--active", help="Only users who are not disabled.")
    ] = False,
    role: Annotated[
        Role | None, typer.Option("--role", help="Only users holding this role.")
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List staff users."""
    with session_for(data_dir) as session:
        users = list_users(session, active_only=active_only, role=role)
    if as_json:
        print_json([user_json(user) for user in users])
        return
    table = Table("username", "display name", "roles", "active", "password")
    for user in users:
        table.add_row(
            user.username,
            user.display_name,
            ", ".join(r.value for r in user.roles),
            "yes" if user.active else f"disabled {user.disabled_at:%Y-%m-%d}",
            "set" if user.has_password else "-",
        )
    console.print(table)


@app.command("disable")
@handle_errors
def disable_command(
    username: Annotated[str, typer.Argument(help="The user to disable.")],
    by: ByOption,
    reason: ReasonOption,
    data_dir: DataDirOption = None,
) -> None:
    """Disable a user: they can no longer sign in or act; agents they guard stop."""
    with session_for(data_dir) as session:
        user = disable_user(session, username=username, by=by, reason=reason)
        stopped = agents_guarded_by(session, username=username)
    console.print(f"disabled user [bold]{user.username}[/]", highlight=False)
    if stopped:
        err_console.print(
            f"[bold yellow]warning:[/] {username} guards {', '.join(stopped)}: "
            "these agents stop acting until new guardians are on duty "
            "(cogov registry guardians AGENT --guardian G --backup B --by ADMIN --reason ...)",
            highlight=False,
        )


@app.command("enable")
@handle_errors
def enable_command(
    username: Annotated[str, typer.Argument(help="The user to enable again.")],
    by: ByOption,
    reason: ReasonOption,
    data_dir: DataDirOption = None,
) -> None:
    """Let a disabled user sign in and act again."""
    with session_for(data_dir) as session:
        user = enable_user(session, username=username, by=by, reason=reason)
    console.print(f"enabled user [bold]{user.username}[/]", highlight=False)


@app.command("roles")
@handle_errors
def roles_command(
    username: Annotated[str, typer.Argument(help="The user whose roles change.")],
    role: Annotated[list[Role], typer.Option("--role", help="A role to hold (repeat).")],
    by: ByOption,
    reason: ReasonOption,
    data_dir: DataDirOption = None,
) -> None:
    """Replace the roles a user holds. A user who is no longer field staff leaves the
    departments they worked for in the same change."""
    with session_for(data_dir) as session:
        changed = set_roles(session, username=username, roles=role, by=by, reason=reason)
    user = changed.user
    roles = ", ".join(r.value for r in user.roles)
    console.print(f"{user.username} now holds: {roles}", highlight=False)
    if changed.departments_removed:
        console.print(
            f"{user.username} no longer works for: {', '.join(changed.departments_removed)} "
            "(only field staff work for departments)",
            highlight=False,
            soft_wrap=True,
        )


@app.command("departments")
@handle_errors
def departments_command(
    username: Annotated[
        str, typer.Argument(help="The user whose departments are shown or change.")
    ],
    add: Annotated[
        list[str] | None,
        typer.Option("--add", help="A department whose field work they do (repeat)."),
    ] = None,
    remove: Annotated[
        list[str] | None,
        typer.Option("--remove", help="A department they no longer work for (repeat)."),
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Administrator making the change.")] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (kept in the ledger).")
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the departments a user's field team works (the routing values of the field
    work list), or change them with --add / --remove (needs --by and --reason)."""
    if add or remove:
        if by is None or reason is None:
            raise fail("--by and --reason: needed to change departments", EXIT_BAD_INPUT)
        with session_for(data_dir) as session:
            held = change_departments(
                session, username=username, add=add or (), remove=remove or (), by=by, reason=reason
            )
    else:
        with session_for(data_dir) as session:
            held = user_departments(session, username=username)
    if as_json:
        print_json({"username": username, "departments": list(held)})
    elif held:
        console.print(f"{username} works for: {', '.join(held)}", highlight=False)
    else:
        console.print(f"{username} works for no department", highlight=False)


@app.command("password")
@handle_errors
def password_command(
    username: Annotated[str, typer.Argument(help="The user whose password is set.")],
    by: Annotated[
        str | None,
        typer.Option("--by", help="The user themself or an administrator (omit: the operator)."),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Set a password, read from standard input (never from the command line). Ends
    every web session the user has open; their API tokens keep working."""
    password = sys.stdin.readline().rstrip("\r\n")
    with session_for(data_dir) as session:
        reset = reset_password(session, username=username, password=password, by=by)
    ended = reset.sessions_ended
    console.print(
        f"password set for [bold]{username}[/]; {ended} web session"
        f"{'' if ended == 1 else 's'} ended",
        highlight=False,
    )

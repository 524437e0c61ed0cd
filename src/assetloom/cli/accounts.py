"""`assetloom user ...`, `assetloom token ...`, `assetloom audit-log`.

Whoever runs these has the library folder itself, so they act as an admin; their actions go
to the audit log as `cli:<login name>` from `local`.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from assetloom.accounts import Role
from assetloom.cli.audit import cli_actor
from assetloom.cli.common import JsonOpt, emit_json, open_library, out, run
from assetloom.errors import BadInputError

user_app = typer.Typer(
    help="Users of the web UI and API (roles: viewer, editor, admin).", no_args_is_help=True
)
token_app = typer.Typer(
    help="API tokens for scripts (shown once, stored hashed).", no_args_is_help=True
)


def _password(from_stdin: bool, none: bool) -> str | None:
    if none:
        return None
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise BadInputError("no password on standard input")
        return line
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
def user_add(
    name: str = typer.Argument(
        ..., help="User name: 1-64 ASCII letters, digits, . _ @ - (not 'anonymous')."
    ),
    role: Role = typer.Option(..., "--role", help="viewer, editor or admin."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    no_password: bool = typer.Option(
        False, "--no-password", help="A user for scripts only: API tokens, no web sign-in."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Add a user (the first admin is made this way)."""

    def body() -> None:
        from assetloom.accounts import AccountService
        from assetloom.accounts.service import validate_user_name

        validate_user_name(name)  # before asking for a password that would be wasted
        password = _password(password_stdin, no_password)
        with open_library() as lib:
            accounts = AccountService.of(lib)
            user = accounts.add_user(name, role, password)
            accounts.record(
                cli_actor(), "user.add", name, client="local", detail={"role": role.value}
            )
        if as_json:
            emit_json(user.to_json())
        else:
            out.print(f"added {user.role.value} {user.name}")

    run(as_json, body)


@user_app.command("list")
def user_list(as_json: bool = JsonOpt) -> None:
    """List users and their roles."""

    def body() -> None:
        from rich.table import Table

        from assetloom.accounts import AccountService

        with open_library() as lib:
            users = AccountService.of(lib).list_users()
        if as_json:
            emit_json({"users": [u.to_json() for u in users]})
            return
        table = Table("name", "role", "status", "created")
        for u in users:
            status = "disabled" if u.disabled else ("active" if u.has_password else "tokens only")
            table.add_row(u.name, u.role.value, status, u.created_at.strftime("%Y-%m-%d %H:%M"))
        out.print(table)

    run(as_json, body)


@user_app.command("set")
def user_set(
    name: str = typer.Argument(...),
    role: Role | None = typer.Option(None, "--role"),
    disabled: bool | None = typer.Option(None, "--disable/--enable"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="New password on stdin."),
    as_json: bool = JsonOpt,
) -> None:
    """Change a user's role, password, or disable them (ends their web sessions)."""

    def body() -> None:
        from assetloom.accounts import AccountService

        password = _password(True, False) if password_stdin else None
        with open_library() as lib:
            accounts = AccountService.of(lib)
            user = accounts.update_user(name, role=role, password=password, disabled=disabled)
            accounts.record(
                cli_actor(),
                "user.update",
                name,
                client="local",
                detail={"role": user.role.value, "disabled": user.disabled},
            )
        if as_json:
            emit_json(user.to_json())
        else:
            out.print(f"{user.name}: {user.role.value}{' (disabled)' if user.disabled else ''}")

    run(as_json, body)


@token_app.command("create")
def token_create(
    name: str = typer.Argument(..., help="The user the token acts as."),
    label: str = typer.Option("", "--label", help="What the token is for."),
    as_json: bool = JsonOpt,
) -> None:
    """Create an API token for a user; it is printed once and only its hash is kept."""

    def body() -> None:
        from assetloom.accounts import AccountService

        with open_library() as lib:
            accounts = AccountService.of(lib)
            info, secret = accounts.create_token(name, label)
            accounts.record(
                cli_actor(), "token.create", name, client="local", detail={"token_id": info.id}
            )
        if as_json:
            emit_json({**info.to_json(), "token": secret})
        else:
            out.print(secret, markup=False)
            out.print(f"token {info.id} for {info.user}: store it now, it is not shown again")

    run(as_json, body)


@token_app.command("list")
def token_list(
    name: str | None = typer.Argument(None, help="Only this user's tokens."),
    as_json: bool = JsonOpt,
) -> None:
    """List tokens (never their secrets)."""

    def body() -> None:
        from rich.table import Table

        from assetloom.accounts import AccountService

        with open_library() as lib:
            tokens = AccountService.of(lib).list_tokens(name)
        if as_json:
            emit_json({"tokens": [t.to_json() for t in tokens]})
            return
        table = Table("id", "user", "label", "starts with", "created", "last used", "status")
        for t in tokens:
            table.add_row(
                str(t.id),
                t.user,
                t.label,
                t.prefix + "…",
                t.created_at.strftime("%Y-%m-%d %H:%M"),
                t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "",
                "revoked" if t.revoked_at else "active",
            )
        out.print(table)

    run(as_json, body)


@token_app.command("revoke")
def token_revoke(
    token_id: int = typer.Argument(..., min=1, help="The token's id (`assetloom token list`)."),
    as_json: bool = JsonOpt,
) -> None:
    """Revoke a token: requests with it fail from now on."""

    def body() -> None:
        from assetloom.accounts import AccountService

        with open_library() as lib:
            accounts = AccountService.of(lib)
            info = accounts.revoke_token(token_id)
            accounts.record(cli_actor(), "token.revoke", str(token_id), client="local")
        if as_json:
            emit_json(info.to_json())
        else:
            out.print(f"revoked token {info.id} of {info.user}")

    run(as_json, body)


def audit_log(
    limit: int = typer.Option(50, "--limit", min=1, max=10000),
    offset: int = typer.Option(0, "--offset", min=0),
    actor: str | None = typer.Option(None, "--actor", help="Only this user's actions."),
    as_json: bool = JsonOpt,
) -> None:
    """Every write through the API, web UI and these commands: who, what, when, from where."""

    def body() -> None:
        from rich.table import Table

        from assetloom.accounts import AccountService

        with open_library() as lib:
            total, entries = AccountService.of(lib).audit_log(
                limit=limit, offset=offset, actor=actor
            )
        if as_json:
            emit_json({"total": total, "offset": offset, "entries": [e.to_json() for e in entries]})
            return
        table = Table("when", "who", "what", "target", "outcome", "from")
        for e in entries:
            table.add_row(
                e.at.strftime("%Y-%m-%d %H:%M:%S"),
                escape(e.actor),
                e.action,
                escape(e.target),
                e.outcome,
                escape(e.client),
            )
        out.print(table)
        out.print(f"{len(entries)} of {total} entries")

    run(as_json, body)

"""`chaperone users …`: accounts for the web application."""

from __future__ import annotations

import os

import typer
from sqlalchemy import delete, select

from chaperone.audit_log import service as trail
from chaperone.cli.context import AppContext
from chaperone.cli.output import Format, emit_json, line, table
from chaperone.common.problems import ChaperoneError
from chaperone.store.models import User, WebSession
from chaperone.users import service

app = typer.Typer(
    help="Web application users: create, list, reset passwords, unlock.", no_args_is_help=True
)
PASSWORD_ENV = "CHAPERONE_NEW_PASSWORD"


def _password(given: str | None) -> str:
    """From --password-env's variable, else asked twice at the terminal (never echoed)."""
    if given is not None:
        return given
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Again", hide_input=True) != first:
        raise ChaperoneError("the passwords differ")
    return str(first)


@app.command("create")
def create(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Sign-in name (case-insensitive)."),
    role: str = typer.Option(
        ..., "--role", help="admin, compliance_officer, hr, principal, reviewer or auditor."
    ),
    schools: list[str] = typer.Option(
        [], "--school", help="Org id of a school (principals; repeatable)."
    ),
    name: str | None = typer.Option(None, "--name", help="Display name."),
    sso_only: bool = typer.Option(
        False, "--sso-only", help="No password: the user signs in through single sign-on only."
    ),
) -> None:
    """Create a user; the password comes from $CHAPERONE_NEW_PASSWORD or a prompt."""
    context: AppContext = ctx.obj
    password = None if sso_only else _password(None)
    with context.store().transaction() as session:
        user = service.create_user(
            session,
            username=username,
            password=password,
            role=role,
            display_name=name,
            school_ids=tuple(schools),
        )
        trail.record(
            session,
            actor="cli",
            action="user-create",
            object_type="user",
            object_id=user.username,
            detail=f"role {user.role}" + (f", schools {', '.join(schools)}" if schools else ""),
        )
        line(f"created {user.username} ({user.role})")


@app.command("password")
def password(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
    """Set a new password for a user."""
    context: AppContext = ctx.obj
    secret = _password(None)
    with context.store().transaction() as session:
        user = service.set_password(session, username, secret)
        trail.record(
            session,
            actor="cli",
            action="user-password",
            object_type="user",
            object_id=user.username,
        )
        line(f"password changed for {user.username}; their open sessions are ended")


@app.command("unlock")
def unlock(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
    """End a user's sign-in back-off now (forget their failed sign-ins)."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        forgotten = service.unlock(session, username)
        name = username.strip().lower()
        trail.record(
            session,
            actor="cli",
            action="user-unlock",
            object_type="user",
            object_id=name,
            detail=f"{forgotten} failed sign-ins forgotten",
        )
        line(f"unlocked {name} ({forgotten} failed sign-ins forgotten)")


@app.command("disable")
def disable(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
    """Stop a user signing in and end their open sessions (their history stays)."""
    _set_active(ctx, username, active=False)


@app.command("enable")
def enable(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
    """Let a disabled user sign in again."""
    _set_active(ctx, username, active=True)


def _set_active(ctx: typer.Context, username: str, *, active: bool) -> None:
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        user = session.scalar(select(User).where(User.username == username.strip().lower()))
        if user is None:
            raise ChaperoneError(f'no user "{username}"')
        user.active = active
        if not active:
            session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        action = "user-enable" if active else "user-disable"
        trail.record(
            session, actor="cli", action=action, object_type="user", object_id=user.username
        )
        line(f"{'enabled' if active else 'disabled'} {user.username}")


@app.command("list")
def listing(ctx: typer.Context, fmt: Format = typer.Option(Format.text, "--format")) -> None:
    """Users, their roles and schools."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        users = session.scalars(select(User).order_by(User.username)).all()
        if fmt is Format.json:
            emit_json(
                [
                    {
                        "username": u.username,
                        "name": u.display_name,
                        "role": u.role,
                        "schools": list(u.school_ids),
                        "active": u.active,
                    }
                    for u in users
                ]
            )
            return
        table(
            "Users",
            ["username", "name", "role", "schools", "active"],
            [
                [
                    u.username,
                    u.display_name,
                    u.role,
                    ", ".join(u.school_ids),
                    "yes" if u.active else "no",
                ]
                for u in users
            ],
        )

"""The `chaperone` command line: one entry point; errors become exit codes only here."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from pydantic import ValidationError

from chaperone.cli import (
    audit,
    audit_log,
    campaigns,
    demo,
    directory,
    exceptions,
    gateway,
    ingest,
    lake,
    policy,
    registry,
    serve,
    users,
)
from chaperone.cli.context import AppContext
from chaperone.common.problems import ChaperoneError, InputError
from chaperone.settings import Settings
from chaperone.store.db import migrate_store, where

app = typer.Typer(
    help="Chaperone: Board Policy 9052 as code for a school district.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(directory.app, name="directory")
app.add_typer(registry.app, name="registry")
app.add_typer(policy.app, name="policy")
app.add_typer(ingest.app, name="ingest")
app.add_typer(lake.app, name="lake")
app.command("audit")(audit.audit)
app.command("report")(audit.report)
app.command("gateway")(gateway.gateway)
app.add_typer(exceptions.app, name="exceptions")
app.add_typer(campaigns.app, name="campaigns")
app.add_typer(audit.findings_app, name="findings")
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.add_typer(users.app, name="users")
app.add_typer(audit_log.app, name="audit-log")


@app.callback()
def root(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None, "--home", help="Data folder (default: $CHAPERONE_HOME or ./.chaperone)."
    ),
) -> None:
    """Build the settings once and hand them to every command."""
    try:
        settings = Settings.from_environment(os.environ, home=home)
    except ValidationError as exc:
        raise ChaperoneError(f"invalid settings: {exc.errors()[0]['msg']}") from exc
    ctx.obj = AppContext(settings)


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the data folder and the store, or bring an existing store's schema up to date."""
    context: AppContext = ctx.obj
    context.create_store(say=typer.echo)
    typer.echo(f"store ready at {where(context.settings)}")


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Bring an existing store's schema up to date, saying first what will be applied."""
    context: AppContext = ctx.obj
    migrate_store(context.settings, say=typer.echo)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning domain errors into one-line reasons and exit 1."""
    try:
        app(args=argv)
    except InputError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"error: {exc.summary}", err=True)
        sys.exit(1)
    except ChaperoneError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)

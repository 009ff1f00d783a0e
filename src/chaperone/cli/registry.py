"""`chaperone registry …`: import and show registry.yaml, and ask it about approvals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from chaperone.cli.context import AppContext
from chaperone.cli.output import Format, emit_json, line, table
from chaperone.common.problems import ChaperoneError
from chaperone.lake.schema import CHANNEL_TYPES
from chaperone.registry import service
from chaperone.registry.models import AUDIENCE_POPULATIONS

app = typer.Typer(
    help="District domains and numbers, approved platforms, official accounts.",
    no_args_is_help=True,
)


@app.command("import")
def import_registry(
    ctx: typer.Context,
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="registry.yaml"),
) -> None:
    """Validate registry.yaml and make it the registry in force."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        changed = service.import_file(session, path)
    line(f"{path.name}: {'imported' if changed else 'no change'}")


@app.command("show")
def show(ctx: typer.Context, fmt: Format = typer.Option(Format.text, "--format")) -> None:
    """Print the registry in force."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        view = service.require_current(session)
    registry = view.registry
    if fmt is Format.json:
        emit_json(registry.model_dump(mode="json"))
        return
    district = registry.district
    line(f"{district.name} ({district.timezone}, phone region {district.default_region})")
    line(f"district mail domains: {', '.join(district.email_domains)}")
    line(f"district phone lines: {', '.join(district.phone_numbers) or '-'}")
    table(
        "Platforms",
        ["id", "name", "status", "channel types", "audiences", "approved", "expires"],
        [
            [
                p.id,
                p.name,
                p.status,
                ", ".join(p.channel_types),
                ", ".join(p.audiences),
                p.approved_on,
                p.expires_on,
            ]
            for p in registry.platforms
        ],
    )
    table(
        "Social accounts",
        ["platform", "handle", "kind", "owner", "org"],
        [[a.platform, a.handle, a.kind, a.owner, a.org] for a in registry.social_accounts],
    )


@app.command("check")
def check(
    ctx: typer.Context,
    platform: str = typer.Argument(..., help="Platform id, e.g. parentsquare."),
    channel_type: str = typer.Option(..., "--channel", help=f"One of {', '.join(CHANNEL_TYPES)}."),
    between: tuple[str, str] = typer.Option(
        ..., "--between", help="Two populations: staff student"
    ),
    on: str = typer.Option(
        ..., "--on", help="Local date in the district's time zone (YYYY-MM-DD)."
    ),
) -> None:
    """Is PLATFORM approved for a channel type between two populations on a date? Exit 0 if so."""
    if channel_type not in CHANNEL_TYPES:
        raise ChaperoneError(f'unknown channel type "{channel_type}"')
    for population in between:
        if population not in AUDIENCE_POPULATIONS:
            raise ChaperoneError(f'unknown population "{population}" (staff, student or parent)')
    try:
        day = dt.date.fromisoformat(on)
    except ValueError as exc:
        raise ChaperoneError(f'"{on}" is not a date (YYYY-MM-DD)') from exc
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        view = service.require_current(session)
    approval = view.approval(platform, channel_type, between, day)
    line(("approved: " if approval.approved else "not approved: ") + approval.reason)
    raise typer.Exit(0 if approval.approved else 3)

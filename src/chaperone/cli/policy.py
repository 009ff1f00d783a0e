"""`chaperone policy …`: show the pack in force, validate and import a district's pack."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from chaperone.cli.context import AppContext
from chaperone.cli.output import Format, emit_json, line, table
from chaperone.common.problems import ChaperoneError
from chaperone.policy import loader, service
from chaperone.policy.models import Pack

app = typer.Typer(
    help="Board Policy 9052 as code: sections, definitions and rules.", no_args_is_help=True
)


@app.command("show")
def show(
    ctx: typer.Context,
    on: str | None = typer.Option(
        None, "--on", help="The version in force on this date (default today)."
    ),
    fmt: Format = typer.Option(Format.text, "--format"),
) -> None:
    """Print the policy pack in force: sections, definitions and rules."""
    context: AppContext = ctx.obj
    day = _date(on) if on else dt.date.today()
    with context.store().transaction() as session:
        pack = service.in_force(session, day)
        others = [p.spec.version for p in service.versions(session)]
    if fmt is Format.json:
        emit_json({**pack.spec.model_dump(mode="json"), "versions": others})
        return
    _print_pack(pack, others)


def _print_pack(pack: Pack, versions: list[str]) -> None:
    spec = pack.spec
    line(f"Policy {spec.policy} — {spec.title}")
    line(
        f"version {spec.version}, adopted {spec.adopted_on}, in force from {spec.effective_on}"
        f" (versions known: {', '.join(versions)})"
    )
    table("Sections", ["§", "title", "text"], [[s.id, s.title, s.text] for s in spec.sections])
    table(
        "Definitions",
        ["term", "§", "includes"],
        [[name, d.section, ", ".join(d.includes)] for name, d in spec.definitions.items()],
    )
    table(
        "Rules",
        ["id", "citation", "severity", "subject", "effect", "enabled", "title"],
        [
            [
                r.id,
                r.spec.citation,
                r.spec.severity,
                r.spec.subject,
                r.spec.effect,
                "yes" if r.spec.enabled else "no",
                r.spec.title,
            ]
            for r in pack.rules
        ],
    )


@app.command("validate")
def validate(path: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Check a policy pack file; every problem is reported with file:line."""
    pack = loader.load_file(path)
    line(
        f"{path.name}: policy {pack.spec.policy} version {pack.spec.version} is valid "
        f"({len(pack.rules)} rules, {len(pack.enabled_rules)} enabled)"
    )


@app.command("import")
def import_pack(
    ctx: typer.Context, path: Path = typer.Argument(..., exists=True, dir_okay=False)
) -> None:
    """Add a district's own pack, or a later version of 9052 with a new effective date."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        changed = service.import_file(session, path)
    line(f"{path.name}: {'imported' if changed else 'no change'}")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ChaperoneError(f'"{text}" is not a date (YYYY-MM-DD)') from exc

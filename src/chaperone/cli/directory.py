"""`chaperone directory …`: import rosters and contacts, count and show people."""

from __future__ import annotations

from pathlib import Path

import typer

from chaperone.audit_log import service as trail
from chaperone.cli.context import AppContext
from chaperone.cli.output import Format, emit_json, line, table
from chaperone.directory import service
from chaperone.directory.importers.contacts import ContactsImporter
from chaperone.directory.importers.oneroster import OneRosterImporter
from chaperone.directory.importers.people import PeopleImporter
from chaperone.directory.service import ImportSummary
from chaperone.registry.service import RegistryView
from chaperone.store.models import Person

app = typer.Typer(
    help="People, their populations, orgs, accounts and guardian links.", no_args_is_help=True
)
imports = typer.Typer(help="Import the district's people.", no_args_is_help=True)
app.add_typer(imports, name="import")

SKIP = typer.Option(False, "--skip-bad-rows", help="Import the good rows and report the bad ones.")
FORMAT = typer.Option(Format.text, "--format", help="text or json.")


@imports.command("oneroster")
def import_oneroster(
    ctx: typer.Context,
    path: Path = typer.Argument(..., exists=True, help="OneRoster 1.1/1.2 CSV folder or zip."),
    skip_bad_rows: bool = SKIP,
    fmt: Format = FORMAT,
) -> None:
    """Import a OneRoster 1.1 or 1.2 CSV bundle (folder or zip)."""
    context: AppContext = ctx.obj
    batch = OneRosterImporter(path, region=context.region()).read()
    with context.store().transaction() as session:
        summary = service.apply_batch(session, batch, skip_bad_rows=skip_bad_rows)
    _report(summary, fmt)


@imports.command("people")
def import_people(
    ctx: typer.Context,
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="people.csv"),
    skip_bad_rows: bool = SKIP,
    fmt: Format = FORMAT,
) -> None:
    """Import vendors, volunteers, contractors and staff not in the roster."""
    context: AppContext = ctx.obj
    batch = PeopleImporter(path, region=context.region()).read()
    with context.store().transaction() as session:
        summary = service.apply_batch(session, batch, skip_bad_rows=skip_bad_rows)
    _report(summary, fmt)


@imports.command("contacts")
def import_contacts(
    ctx: typer.Context,
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="contacts.csv"),
    skip_bad_rows: bool = SKIP,
    fmt: Format = FORMAT,
) -> None:
    """Import extra accounts: person_id,kind,value,district_owned."""
    context: AppContext = ctx.obj
    batch = ContactsImporter(path, region=context.region()).read()
    with context.store().transaction() as session:
        summary = service.apply_contacts(session, batch, skip_bad_rows=skip_bad_rows)
    _report(summary, fmt)


def _report(summary: ImportSummary, fmt: Format) -> None:
    counts = {
        kind: vars(getattr(summary, kind)) for kind in ("people", "orgs", "accounts", "links")
    }
    if fmt is Format.json:
        emit_json(
            {
                "file": summary.file,
                "changed": summary.changed,
                **counts,
                "skipped": [str(p) for p in summary.skipped],
                "warnings": [str(p) for p in summary.warnings],
            }
        )
        return
    for problem in [*summary.skipped, *summary.warnings]:
        typer.echo(f"warning: {problem}", err=True)
    if not summary.changed:
        line(f"{Path(summary.file).name}: no change")
        return
    rows = [[kind, *c.values()] for kind, c in counts.items()]
    table(f"{Path(summary.file).name}: imported", ["", *counts["people"].keys()], rows)


@app.command("stats")
def stats(ctx: typer.Context, fmt: Format = FORMAT) -> None:
    """Active people per population and per school."""
    context: AppContext = ctx.obj
    with context.store().transaction() as session:
        totals = service.stats(session)
        schools = service.stats_by_school(session)
    if fmt is Format.json:
        emit_json(totals)
        return
    populations = list(totals)
    rows: list[list[object]] = [
        [school, *(counts.get(p, 0) for p in populations)] for school, counts in schools.items()
    ]
    rows.append(["all (district)", *totals.values()])
    table("People per population", ["school", *populations], rows)


@app.command("show")
def show(
    ctx: typer.Context,
    key: str = typer.Argument(
        ..., help="Person id, e-mail address, phone number or platform:handle."
    ),
    fmt: Format = FORMAT,
    actor: str = typer.Option("cli", "--as", help="Who is looking (recorded for student data)."),
) -> None:
    """Show a person with their accounts, orgs and family links."""
    context: AppContext = ctx.obj
    view = context.registry()
    with context.store().transaction() as session:
        person = service.find(session, key, region=context.region())
        guardians, students = service.guardians_and_students(session, person)
        data = _person_data(person, guardians, students, view)
        trail.record(
            session,
            actor=actor,
            action="view",
            object_type="person",
            object_id=person.person_id,
            person_ids=[person.person_id],
            detail="directory show",
        )
    if fmt is Format.json:
        emit_json(data)
        return
    _print_person(data)


def _person_data(
    person: Person, guardians: list[Person], students: list[Person], registry: RegistryView | None
) -> dict[str, object]:
    return {
        "person_id": person.person_id,
        "name": person.display_name,
        "population": person.population,
        "role": person.role,
        "grade": person.grade,
        "active": person.active,
        "source": person.source,
        "orgs": [{"org_id": o.org_id, "name": o.name, "type": o.type} for o in person.orgs],
        "accounts": [
            {
                "kind": a.kind,
                "value": a.value,
                "source": a.source,
                "district_owned": service.district_owned(a, registry),
            }
            for a in person.accounts
        ],
        "guardians": [{"person_id": g.person_id, "name": g.display_name} for g in guardians],
        "students": [{"person_id": s.person_id, "name": s.display_name} for s in students],
    }


def _print_person(data: dict[str, object]) -> None:
    status = "active" if data["active"] else "inactive"
    line(f"{data['person_id']}  {data['name']}  ({data['population']}, {data['role']}, {status})")
    rows: list[list[object]] = []
    for org in _dicts(data["orgs"]):
        rows.append(["org", f"{org['name']} ({org['org_id']}, {org['type']})", ""])
    for account in _dicts(data["accounts"]):
        owned = "district-owned" if account["district_owned"] else "personal"
        rows.append([account["kind"], account["value"], f"{owned}; from {account['source']}"])
    for relation in ("guardians", "students"):
        for other in _dicts(data[relation]):
            rows.append([relation[:-1], f"{other['name']} ({other['person_id']})", ""])
    table("", ["", "value", "notes"], rows)


def _dicts(value: object) -> list[dict[str, object]]:
    return value if isinstance(value, list) else []

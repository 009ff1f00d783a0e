"""`chaperone demo`: a generated sample district, loaded end to end."""

from __future__ import annotations

import typer

from chaperone.cli.context import AppContext
from chaperone.cli.directory import stats
from chaperone.cli.output import line
from chaperone.demo.district import generate
from chaperone.directory import service as directory
from chaperone.directory.importers.contacts import ContactsImporter
from chaperone.directory.importers.oneroster import OneRosterImporter
from chaperone.directory.importers.people import PeopleImporter
from chaperone.registry import service as registry


def demo(
    ctx: typer.Context,
    seed: int = typer.Option(9052, help="Seed of the generated district."),
    students: int = typer.Option(2000, help="Number of students."),
    staff: int = typer.Option(150, help="Number of staff."),
) -> None:
    """Generate a sample district (three schools), load it, and print the directory stats."""
    context: AppContext = ctx.obj
    files = generate(
        context.settings.home / "demo-input", seed=seed, students=students, staff=staff
    )
    line(f"generated a sample district in {files.roster.parent}")
    with context.store().transaction() as session:
        registry.import_file(session, files.registry)
    region = context.region()
    with context.store().transaction() as session:
        for batch in (
            OneRosterImporter(files.roster, region=region).read(),
            PeopleImporter(files.people, region=region).read(),
        ):
            directory.apply_batch(session, batch, skip_bad_rows=False)
        directory.apply_contacts(
            session, ContactsImporter(files.contacts, region=region).read(), skip_bad_rows=False
        )
    stats(ctx)

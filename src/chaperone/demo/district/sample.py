"""`generate`: write the whole sample district and describe what was written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chaperone.demo.district.contacts import CONTACTS_HEADER, draw_contacts
from chaperone.demo.district.context import Context
from chaperone.demo.district.households import draw_households
from chaperone.demo.district.model import User, build_schools
from chaperone.demo.district.outsiders import PEOPLE_HEADER, draw_outsiders
from chaperone.demo.district.registry import registry_text
from chaperone.demo.district.roster import write_roster
from chaperone.demo.district.staff import draw_staff
from chaperone.demo.files import write_csv, write_text


@dataclass(frozen=True)
class SampleDistrict:
    """Paths of the generated files and the active people per population."""

    roster: Path
    registry: Path
    contacts: Path
    people: Path
    counts: dict[str, int]


def generate(
    out: Path, *, seed: int = 9052, schools: int = 3, students: int = 2000, staff: int = 150
) -> SampleDistrict:
    """Write a seeded sample district under out and describe what was written."""
    if schools < 1 or students < 1:
        raise ValueError("a sample district needs at least one school and one student")
    ctx = Context(seed)
    school_list = build_schools(schools)
    kids, parents = draw_households(ctx, school_list, students)
    employees = draw_staff(ctx, school_list, kids, staff)
    contacts, accounts = draw_contacts(ctx, employees, school_list)
    outsiders = draw_outsiders(ctx, school_list)
    roster = out / "roster"
    roster.mkdir(parents=True, exist_ok=True)
    write_roster(roster, school_list, [*employees, *kids, *parents])
    write_csv(out / "contacts.csv", CONTACTS_HEADER, contacts)
    write_csv(out / "people.csv", PEOPLE_HEADER, outsiders)
    write_text(out / "registry.yaml", registry_text(accounts))
    return SampleDistrict(
        roster=roster,
        registry=out / "registry.yaml",
        contacts=out / "contacts.csv",
        people=out / "people.csv",
        counts=_counts(employees, kids, parents, outsiders),
    )


def _counts(
    employees: list[User], kids: list[User], parents: list[User], outsiders: list[list[str]]
) -> dict[str, int]:
    """Count the active people of every population."""
    counts = {
        "staff": sum(u.status == "active" for u in employees),
        "student": sum(u.status == "active" for u in kids),
        "parent": sum(u.status == "active" for u in parents),
    }
    for population in ("vendor", "volunteer", "contractor"):
        counts[population] = sum(row[1] == population for row in outsiders)
    return counts

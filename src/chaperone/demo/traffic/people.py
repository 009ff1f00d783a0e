"""The district's people as the traffic needs them, read from the generated district files."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from chaperone.demo.district import FAMILY_ROLES, STAFF_ROLES, SampleDistrict
from chaperone.demo.district.names import fold_ascii
from chaperone.demo.traffic.registry import Registry

STUDENT_EMAIL_SHARE = 0.02
_OUTSIDE_SENDERS = (
    ("news@edweek-example.org", "Education Week Update"),
    ("hello@bookclub-example.com", "Book Club"),
    ("digest@teachtools-example.com", "TeachTools Digest"),
    ("events@sciencemuseum-example.org", "Science Museum Events"),
    ("info@pta-example.org", "PTA Council"),
)


@dataclass(frozen=True)
class Person:
    """An active roster person."""

    id: str
    population: str
    role: str
    name: str
    email: str
    school: str
    phone: str
    agents: tuple[str, ...]


Family = tuple[Person, list[Person]]  # a student and their parents


@dataclass
class People:
    """The district's active people and their accounts, as the traffic needs them."""

    staff: list[Person]
    students: list[Person]
    by_id: dict[str, Person]
    schools: list[str]
    staff_at: dict[str, list[Person]]
    families_at: dict[str, list[Family]]
    personal_email: dict[str, str]
    personal_phone: dict[str, str]
    district_phone: dict[str, str]
    outsiders: list[tuple[str, str]]
    student_email: dict[str, str] = field(default_factory=dict)


def read_people(district: SampleDistrict, registry: Registry) -> People:
    """Read the active roster people, staff contacts and outside senders."""
    by_id = _read_roster(district.roster)
    people = sorted(by_id.values(), key=lambda p: p.id)
    staff = [p for p in people if p.population == "staff"]
    students = [p for p in people if p.population == "student"]
    result = People(
        staff=staff,
        students=students,
        by_id=by_id,
        schools=[],
        staff_at=_group(staff, lambda p: p.school),
        families_at=_families(students, by_id),
        personal_email={},
        personal_phone={},
        district_phone={p.id: p.phone for p in staff if registry.district_owned(p.phone)},
        outsiders=list(_OUTSIDE_SENDERS),
    )
    result.schools = sorted(result.families_at)
    if len(staff) < 2 or len(students) < 2 or not result.schools:
        raise ValueError("the district needs two active staff and students with parents")
    _read_contacts(district.contacts, result)
    result.outsiders += _read_outsiders(district.people)
    return result


def rows(path: Path) -> list[dict[str, str]]:
    """Read a CSV file as dictionaries."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _read_roster(folder: Path) -> dict[str, Person]:
    """The active staff, students and parents of the OneRoster bundle, by sourcedId."""
    roles: dict[str, set[str]] = defaultdict(set)
    for row in rows(folder / "roles.csv"):
        roles[row["userSourcedId"]].add(row["role"])
    by_id: dict[str, Person] = {}
    for row in rows(folder / "users.csv"):
        population = _population(roles[row["sourcedId"]])
        if row["status"] != "active" or not population or not row["email"]:
            continue
        by_id[row["sourcedId"]] = Person(
            id=row["sourcedId"],
            population=population,
            role=min(roles[row["sourcedId"]]),
            name=f"{row['givenName']} {row['familyName']}",
            email=row["email"].lower(),
            school=row["primaryOrgSourcedId"],
            phone=_e164(row["phone"] or row["sms"]),
            agents=tuple(a for a in row["agentSourcedIds"].split(",") if a),
        )
    return by_id


def _population(roles: set[str]) -> str:
    """The population of a roster user from their roles."""
    if roles and roles <= set(STAFF_ROLES):
        return "staff"
    if roles == {"student"}:
        return "student"
    return "parent" if roles and roles <= set(FAMILY_ROLES) else ""


def _group(people: Iterable[Person], key: Callable[[Person], str]) -> dict[str, list[Person]]:
    """Group people by a key function."""
    groups: dict[str, list[Person]] = defaultdict(list)
    for person in people:
        groups[key(person)].append(person)
    return dict(groups)


def _families(students: list[Person], by_id: dict[str, Person]) -> dict[str, list[Family]]:
    """Students with their active parents, by school."""
    families: dict[str, list[Family]] = defaultdict(list)
    for kid in students:
        parents = [by_id[a] for a in kid.agents if a in by_id and by_id[a].phone]
        if parents:
            families[kid.school].append((kid, parents))
    return dict(families)


def _read_contacts(path: Path, people: People) -> None:
    """Add staff personal e-mails, personal phones and district-issued phones."""
    for row in rows(path):
        person = people.by_id.get(row["person_id"])
        if person is None or person.population != "staff":
            continue
        owned = row["district_owned"].strip().lower() == "true"
        if row["kind"] == "email" and not owned:
            people.personal_email.setdefault(person.id, row["value"].lower())
        elif row["kind"] == "phone":
            phones = people.district_phone if owned else people.personal_phone
            phones.setdefault(person.id, _e164(row["value"]))


def _read_outsiders(path: Path) -> list[tuple[str, str]]:
    """(address, name) of the vendors and contractors in people.csv who have an e-mail."""
    senders = []
    for row in rows(path):
        if row["population"] in ("vendor", "contractor") and row["email"]:
            name = f"{row['given_name']} {row['family_name']}"
            senders.append((row["email"].lower(), name))
    return senders


def _e164(raw: str) -> str:
    """A NANP number in any common notation as E.164; empty when empty."""
    digits = "".join(c for c in raw if c.isdigit())
    if len(digits) == 10:
        return "+1" + digits
    return "+" + digits if digits else ""


def student_emails(rng: random.Random, people: People) -> list[list[str]]:
    """Give about 2% of the students a personal gmail; return the contacts rows."""
    taken = {p.email for p in people.by_id.values()} | set(people.personal_email.values())
    count = max(1, round(len(people.students) * STUDENT_EMAIL_SHARE))
    for kid in sorted(rng.sample(people.students, count), key=lambda p: p.id):
        given, family = kid.name.split(" ", 1)
        address = f"{fold_ascii(given)}.{fold_ascii(family)}{rng.randrange(10, 100)}@gmail.com"
        while address in taken:
            address = f"{fold_ascii(given)}{rng.randrange(100, 1000)}@gmail.com"
        taken.add(address)
        people.student_email[kid.id] = address
    return [[pid, "email", value, "false"] for pid, value in people.student_email.items()]

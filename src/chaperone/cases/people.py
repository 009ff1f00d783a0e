"""The directory as the web shows it: scoped search, a person's page (recorded), and the
per-student record of access a parent may inspect (FERPA, 34 CFR 99.32)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from chaperone.cases.access import require
from chaperone.cases.scope import Viewer, people_filter
from chaperone.common.problems import NotFoundError
from chaperone.directory.service import guardians_and_students
from chaperone.store.models import Account, Person, TrailEntry
from chaperone.trail import service as trail
from chaperone.users.roles import Permission


def search(session: Session, viewer: Viewer, query: str = "", *, limit: int = 100) -> list[Person]:
    """People in scope whose name, id or account matches the query."""
    require(viewer, Permission.VIEW_PEOPLE)
    statement = (
        select(Person)
        .where(people_filter(viewer))
        .order_by(Person.family_name, Person.given_name, Person.person_id)
    )
    text = query.strip().lower()
    if text:
        like = f"%{text}%"
        statement = statement.where(
            or_(
                func.lower(Person.given_name + " " + Person.family_name).like(like),
                func.lower(Person.person_id).like(like),
                Person.id.in_(select(Account.person_pk).where(Account.value.like(like))),
            )
        )
    found = list(session.scalars(statement.limit(min(max(1, limit), 500))))
    if found:  # names of students are student data: the listing is recorded like a view
        trail.record(
            session,
            actor=viewer.username,
            action="search",
            object_type="people",
            object_id=text[:255],
            person_ids=[p.person_id for p in found],
            detail=f"{len(found)} people listed",
        )
    return found


@dataclass(frozen=True)
class PersonPage:
    """A person with what the directory knows of them."""

    person: Person
    guardians: list[Person]
    students: list[Person]


def get(session: Session, viewer: Viewer, person_id: str) -> Person:
    """A person in scope (out of scope is indistinguishable from absent)."""
    require(viewer, Permission.VIEW_PEOPLE)
    person = session.scalar(
        select(Person).where(Person.person_id == person_id).where(people_filter(viewer))
    )
    if person is None:
        raise NotFoundError(f"no person {person_id}")
    return person


def show(session: Session, viewer: Viewer, person_id: str) -> PersonPage:
    """A person's page; the view is written to the audit log."""
    person = get(session, viewer, person_id)
    guardians, students = guardians_and_students(session, person)
    trail.record(
        session,
        actor=viewer.username,
        action="view",
        object_type="person",
        object_id=person.person_id,
        person_ids=[person.person_id],
    )
    return PersonPage(person, guardians, students)


def access_record(
    session: Session, viewer: Viewer, person_id: str
) -> tuple[Person, list[TrailEntry]]:
    """Every recorded access to a person's data, newest first; printing it is itself recorded."""
    require(viewer, Permission.ACCESS_REPORT)
    person = get(session, viewer, person_id)
    entries = trail.entries(session, person_id=person.person_id, limit=10_000)
    trail.record(
        session,
        actor=viewer.username,
        action="access-report",
        object_type="person",
        object_id=person.person_id,
        person_ids=[person.person_id],
    )
    return person, entries

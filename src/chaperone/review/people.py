"""The directory as the web shows it: scoped search, a person's page (recorded), and the
per-student record of access a parent may inspect (FERPA, 34 CFR 99.32).

Everything here names people through the identity service: a role that may not see names
(the auditor) finds and opens people by pseudonym only, and is shown no name, id or address.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from chaperone.audit_log import service as trail
from chaperone.common.problems import NotFoundError
from chaperone.directory.service import guardians_and_students
from chaperone.review.access import require
from chaperone.review.audit_log import ShownEntry, shown_entries
from chaperone.review.identity import Identities
from chaperone.review.scope import Viewer, people_filter
from chaperone.store.models import Account, Person
from chaperone.users.roles import Permission


@dataclass(frozen=True)
class ShownPerson:
    """A person as the viewer may see them: ``person_id`` is the district id or, for a
    viewer who may not see it, the pseudonym (what links and the API use either way)."""

    person_id: str
    label: str
    population: str
    role: str
    active: bool
    org_ids: tuple[str, ...]
    orgs: tuple[str, ...]
    schools: tuple[str, ...]
    named: bool


def _shown(ids: Identities, person: Person) -> ShownPerson:
    return ShownPerson(
        person_id=ids.shown_id(person.person_id),
        label=ids.label(person.person_id),
        population=person.population,
        role=person.role,
        active=person.active,
        org_ids=tuple(o.org_id for o in person.orgs),
        orgs=tuple(o.name for o in person.orgs),
        schools=tuple(o.name for o in person.orgs if o.type == "school"),
        named=ids.may_see(person.person_id),
    )


def search(
    session: Session, viewer: Viewer, query: str = "", *, limit: int = 100
) -> list[ShownPerson]:
    """People in scope whose name, id or account matches (by pseudonym only, for a viewer who
    may not see names: a name typed in must not tell them whose pseudonym it is)."""
    require(viewer, Permission.VIEW_PEOPLE)
    ids = Identities.directory(session, viewer)
    text = query.strip().lower()
    limit = min(max(1, limit), 500)
    found = _by_name(session, viewer, text, limit) if ids.names else _by_pseudonym(ids, text, limit)
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
    ids.load(p.person_id for p in found)
    return [_shown(ids, p) for p in found]


def _by_name(session: Session, viewer: Viewer, text: str, limit: int) -> list[Person]:
    statement = (
        select(Person)
        .where(people_filter(viewer))
        .order_by(Person.family_name, Person.given_name, Person.person_id)
    )
    if text:
        like = f"%{text}%"
        statement = statement.where(
            or_(
                func.lower(Person.given_name + " " + Person.family_name).like(like),
                func.lower(Person.person_id).like(like),
                Person.id.in_(select(Account.person_pk).where(Account.value.like(like))),
            )
        )
    return list(session.scalars(statement.limit(limit)))


def _by_pseudonym(ids: Identities, text: str, limit: int) -> list[Person]:
    rows = ids.session.execute(
        select(Person.person_id, Person.population).where(people_filter(ids.viewer))
    ).all()
    labelled = sorted(
        (ids.pseudonym_of(person_id, population), person_id) for person_id, population in rows
    )
    chosen = [p for label, p in labelled if text in label.lower()][:limit]
    ids.load(chosen)
    return [person for p in chosen if (person := ids.person(p)) is not None]


@dataclass(frozen=True)
class PersonPage:
    """A person with what the directory knows of them, as the viewer may see it."""

    person: ShownPerson
    accounts: list[tuple[str, str]]  # (kind, value); none for a viewer who may not see them
    guardians: list[ShownPerson]
    students: list[ShownPerson]
    guardians_elsewhere: int  # linked people outside the viewer's scope: a count, no more
    students_elsewhere: int


def get(session: Session, viewer: Viewer, person_id: str) -> Person:
    """A person in scope, by what the viewer was shown (out of scope, or a district id the
    viewer may not see, is indistinguishable from absent)."""
    require(viewer, Permission.VIEW_PEOPLE)
    wanted = Identities.directory(session, viewer).resolve(person_id)
    person = (
        session.scalar(
            select(Person).where(Person.person_id == wanted).where(people_filter(viewer))
        )
        if wanted
        else None
    )
    if person is None:
        raise NotFoundError(f"no person {person_id}")
    return person


def show(session: Session, viewer: Viewer, person_id: str) -> PersonPage:
    """A person's page; the view is written to the audit log with every linked person shown."""
    person = get(session, viewer, person_id)
    ids = Identities.directory(session, viewer)
    guardians, students = guardians_and_students(session, person)
    ids.load(p.person_id for p in [person, *guardians, *students])
    shown_guardians = [g for g in guardians if ids.in_scope(g.person_id)]
    shown_students = [s for s in students if ids.in_scope(s.person_id)]
    trail.record(
        session,
        actor=viewer.username,
        action="view",
        object_type="person",
        object_id=person.person_id,
        person_ids=[p.person_id for p in [person, *shown_guardians, *shown_students]],
        detail=_linked(shown_guardians, shown_students),
    )
    accounts = [(a.kind, a.value) for a in person.accounts] if ids.may_see(person.person_id) else []
    return PersonPage(
        _shown(ids, person),
        accounts,
        [_shown(ids, g) for g in shown_guardians],
        [_shown(ids, s) for s in shown_students],
        len(guardians) - len(shown_guardians),
        len(students) - len(shown_students),
    )


def _linked(guardians: list[Person], students: list[Person]) -> str:
    if not guardians and not students:
        return ""
    return f"with {len(guardians)} guardians and {len(students)} students linked"


def access_record(
    session: Session, viewer: Viewer, person_id: str
) -> tuple[ShownPerson, list[ShownEntry]]:
    """Every recorded access to a person's data, newest first; printing it is itself recorded."""
    require(viewer, Permission.ACCESS_REPORT)
    person = get(session, viewer, person_id)
    ids = Identities.directory(session, viewer)
    entries = trail.entries(session, person_id=person.person_id, limit=10_000)
    trail.record(
        session,
        actor=viewer.username,
        action="access-report",
        object_type="person",
        object_id=person.person_id,
        person_ids=[person.person_id],
    )
    return _shown(ids, person), shown_entries(ids, entries)

"""The identity service on a small directory: who sees a name, an id or a pseudonym, where.

Two schools, a teacher at each, a student at the first and a parent of that student.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from chaperone.review.identity import Identities, mask, sees_directory
from chaperone.review.scope import Viewer
from chaperone.store.db import Store
from chaperone.store.models import GuardianLink, Org, Person, PersonOrg

pytestmark = pytest.mark.store  # run again on PostgreSQL by make test

PEOPLE = [  # person_id, population, given, family, school
    ("T1", "staff", "Ana", "Ruiz", "HS"),
    ("T2", "staff", "Ben", "Okafor", "MS"),
    ("S1", "student", "Cleo", "Ruiz", "HS"),
    ("P1", "parent", "Dan", "Ruiz", None),
]
ADMIN = Viewer("admin", "admin")
AUDITOR = Viewer("auditor", "auditor")
REVIEWER = Viewer("reviewer", "reviewer")
PRINCIPAL = Viewer("principal", "principal", ("HS",))


@pytest.fixture
def session(store: Store) -> Iterator[Session]:
    with store.transaction() as db:
        orgs = {
            code: Org(org_id=code, name=code, type="school", source="t") for code in ("HS", "MS")
        }
        db.add_all(orgs.values())
        people = {}
        for person_id, population, given, family, school in PEOPLE:
            person = Person(
                person_id=person_id,
                population=population,
                role=population,
                given_name=given,
                family_name=family,
                source="t",
            )
            db.add(person)
            db.flush()
            people[person_id] = person
            if school:
                db.add(PersonOrg(person_pk=person.id, org_pk=orgs[school].id))
        db.flush()
        db.add(GuardianLink(guardian_pk=people["P1"].id, student_pk=people["S1"].id, source="t"))
        db.flush()
        yield db


@pytest.mark.parametrize(
    ("viewer", "names"),
    [(ADMIN, True), (PRINCIPAL, True), (AUDITOR, False), (REVIEWER, False)],
)
def test_only_roles_that_may_reveal_and_view_people_see_names_in_the_directory(
    viewer: Viewer, names: bool
) -> None:
    assert sees_directory(viewer) is names


# viewer -> who they see by name in the directory (everyone else by pseudonym, ids too)
DIRECTORY = {
    "admin": {"T1", "T2", "S1", "P1"},
    "principal": {"T1", "S1", "P1"},  # their school's people and those students' guardians
    "auditor": set(),
    "reviewer": set(),
}


@pytest.mark.parametrize("viewer", [ADMIN, PRINCIPAL, AUDITOR, REVIEWER], ids=lambda v: v.role)
def test_the_directory_names_the_people_in_scope_of_a_role_with_the_right(
    session: Session, viewer: Viewer
) -> None:
    ids = Identities.directory(session, viewer)
    ids.load(p[0] for p in PEOPLE)
    for person_id, population, given, family, _school in PEOPLE:
        alias = ids.pseudonym(person_id)
        assert alias.startswith(population.capitalize() + " ") and person_id not in alias
        if person_id in DIRECTORY[viewer.role]:
            assert (ids.label(person_id), ids.shown_id(person_id)) == (
                f"{given} {family}",
                person_id,
            )
        else:
            assert (ids.label(person_id), ids.shown_id(person_id)) == (alias, alias)


def test_review_names_nobody_but_whom_a_reveal_unmasked_there(session: Session) -> None:
    ids = Identities(session, ADMIN)
    assert ids.label("T1") == ids.pseudonym("T1") and not ids.may_see("T1")
    here = ids.within({"T1"})
    assert here.label("T1") == "Ana Ruiz" and here.shown_id("T1") == "T1"
    assert here.label("S1") == ids.pseudonym("S1")  # revealed on this finding: T1 only
    assert ids.label("T1") == ids.pseudonym("T1")  # and nowhere else
    assert here.address("ana@personal.example", ["T1"]) == "ana@personal.example"
    assert here.address("ana@personal.example", ["T1", "S1"]) == mask("ana@personal.example")


def test_the_same_person_has_the_same_pseudonym_for_every_viewer(session: Session) -> None:
    seen = {Identities.directory(session, v).label("S1") for v in (AUDITOR, REVIEWER)}
    assert len(seen) == 1 and seen == {Identities(session, ADMIN).label("S1")}


def test_a_viewer_without_names_looks_people_up_by_pseudonym_only(session: Session) -> None:
    auditor = Identities.directory(session, AUDITOR)
    assert auditor.resolve(auditor.pseudonym("S1")) == "S1"
    assert auditor.resolve("S1") is None and auditor.resolve("Cleo Ruiz") is None
    principal = Identities.directory(session, PRINCIPAL)
    assert principal.resolve("S1") == "S1" and principal.resolve(principal.pseudonym("S1")) == "S1"
    assert principal.resolve("T2") is None  # another school's: as if absent
    assert Identities.directory(session, ADMIN).resolve("gone-from-the-roster") == (
        "gone-from-the-roster"
    )  # an administrator may still look up an old id in the audit log


def test_label_is_a_namer_and_many_ids_cost_one_load(session: Session) -> None:
    ids = Identities.directory(session, PRINCIPAL)
    many = [p[0] for p in PEOPLE] * 50
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", count)
    try:
        ids.load(many)
        loaded = len(statements)
        namer: Callable[[str], str] = ids.label
        labels = [namer(p) for p in many]
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert loaded <= 3 and len(statements) == loaded  # people, scope (+ the key): then none
    assert labels[:4] == ["Ana Ruiz", ids.pseudonym("T2"), "Cleo Ruiz", "Dan Ruiz"]

"""The authorization matrix: every route by every role by in-scope and out-of-scope data.

The expected answer comes from the one roles table (chaperone.users.roles) and the
principal's school scope: a role without the permission gets 403; a principal asking
about another school's finding, case or person gets 404 (as if it did not exist), and 403
when recording a paper acknowledgment for another school's person; anyone
signed out is sent to sign in (pages) or gets 401 (API). A last check makes sure no route
of the application is missing from the matrix.

Writes and linked people are in the matrix too: a principal may not open a case whose
subject is another school's person even when a finding of theirs names that person (403),
nor open a guardian's page when the guardian's children are all at another school (404). A
role that may not see names (the auditor) addresses people by pseudonym: the matrix gives
it pseudonyms, and tests/web/test_identity.py shows a district id gets it nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from chaperone.review import pseudonyms
from chaperone.store.models import Finding, GuardianLink, Person
from chaperone.users.roles import Permission, allows
from tests.web.site import ROLES, Web, World, new_campaign

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

pytestmark = pytest.mark.store  # run again on PostgreSQL by make test

P = Permission
DUE = (dt.date.today() + dt.timedelta(days=30)).isoformat()


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {finding}, {case}, {person}, {campaign} placeholders
    permission: Permission | None  # None: any signed-in user
    body: dict[str, object] | None = None
    form: dict[str, object] | None = None
    ok: int = 200
    elsewhere: int = 404  # a principal's answer about another school's data
    also: Permission | None = None  # a second permission the route needs


ROUTES = [
    # pages
    Route("GET", "/", None),
    Route("GET", "/findings", P.VIEW_FINDINGS),
    Route("GET", "/findings/{finding}", P.VIEW_FINDINGS),
    Route(
        "POST",
        "/findings/review",
        P.REVIEW_FINDINGS,
        form={"finding_ids": "{finding}", "status": "triaged"},
        ok=303,
    ),
    Route("POST", "/findings/{finding}/reveal", P.REVEAL_NAMES, form={"reason": "matrix"}, ok=303),
    Route("GET", "/cases", P.VIEW_CASES),
    Route("POST", "/cases", P.MANAGE_CASES, form={"finding_ids": "{finding}"}, ok=303),
    Route("GET", "/cases/{case}", P.VIEW_CASES),
    Route(
        "POST",
        "/cases/{case}/reveal",
        P.REVEAL_NAMES,
        form={"reason": "matrix"},
        ok=303,
        also=P.VIEW_CASES,
    ),
    Route("POST", "/cases/{case}/transition", P.MANAGE_CASES, form={"to_status": "triage"}, ok=303),
    Route("POST", "/cases/{case}/note", P.MANAGE_CASES, form={"text": "a note"}, ok=303),
    Route("POST", "/cases/{case}/assign", P.MANAGE_CASES, form={"assignee": "admin"}, ok=303),
    Route(
        "POST",
        "/cases/{case}/intervention",
        P.MANAGE_CASES,
        form={"code": "policy-reminder", "reason": "first time"},
        ok=303,
    ),
    Route("GET", "/people", P.VIEW_PEOPLE),
    Route("GET", "/people/{person}", P.VIEW_PEOPLE),
    Route("GET", "/people/{guardian}", P.VIEW_PEOPLE),
    Route("GET", "/people/{person}/access", P.ACCESS_REPORT),
    Route("GET", "/registry", P.VIEW_REGISTRY),
    Route("GET", "/interventions", P.VIEW_CASES),
    Route(
        "POST",
        "/interventions",
        P.EDIT_CATALOGUE,
        form={"code": "matrix", "population": "staff", "name": "Matrix"},
        ok=303,
    ),
    Route("GET", "/audit-log", P.VIEW_TRAIL),
    Route("GET", "/campaigns", P.VIEW_CAMPAIGNS),
    Route("GET", "/campaigns/{campaign}", P.VIEW_CAMPAIGNS),
    Route("GET", "/campaigns/{campaign}/outstanding", P.MANAGE_CAMPAIGNS),
    Route("GET", "/campaigns/{campaign}/outstanding.csv", P.MANAGE_CAMPAIGNS),
    Route(
        "POST",
        "/campaigns/{campaign}/record",
        P.MANAGE_CAMPAIGNS,
        form={"person_ids": "{person}"},
        ok=303,
        elsewhere=403,  # the campaign is theirs too; recording for another school is refused
    ),
    # API
    Route("GET", "/api/v1/me", None),
    Route("GET", "/api/v1/dashboard", P.VIEW_FINDINGS),
    Route("GET", "/api/v1/findings", P.VIEW_FINDINGS),
    Route("GET", "/api/v1/findings/{finding}", P.VIEW_FINDINGS),
    Route(
        "POST",
        "/api/v1/findings/review",
        P.REVIEW_FINDINGS,
        body={"finding_ids": ["{finding}"], "status": "triaged"},
    ),
    Route("POST", "/api/v1/findings/{finding}/reveal", P.REVEAL_NAMES, body={"reason": "matrix"}),
    Route("GET", "/api/v1/cases", P.VIEW_CASES),
    Route("POST", "/api/v1/cases", P.MANAGE_CASES, body={"finding_ids": ["{finding}"]}, ok=201),
    Route("GET", "/api/v1/cases/{case}", P.VIEW_CASES),
    Route(
        "POST",
        "/api/v1/cases/{case}/reveal",
        P.REVEAL_NAMES,
        body={"reason": "matrix"},
        also=P.VIEW_CASES,
    ),
    Route(  # a finding of the principal's school that names a person of the other school
        "POST",
        "/api/v1/cases",
        P.MANAGE_CASES,
        body={"finding_ids": ["{finding_a}"], "subject_person_id": "{linked}"},
        ok=201,
        elsewhere=403,
    ),
    Route("POST", "/api/v1/cases/{case}/transitions", P.MANAGE_CASES, body={"to_status": "triage"}),
    Route("POST", "/api/v1/cases/{case}/notes", P.MANAGE_CASES, body={"text": "a note"}),
    Route("POST", "/api/v1/cases/{case}/assignee", P.MANAGE_CASES, body={"username": "admin"}),
    Route(
        "POST",
        "/api/v1/cases/{case}/interventions",
        P.MANAGE_CASES,
        body={"code": "policy-reminder", "reason": "first time"},
    ),
    Route("GET", "/api/v1/interventions", P.VIEW_CASES),
    Route(
        "PUT",
        "/api/v1/interventions/matrix",
        P.EDIT_CATALOGUE,
        body={"population": "staff", "name": "Matrix"},
    ),
    Route("GET", "/api/v1/people", P.VIEW_PEOPLE),
    Route("GET", "/api/v1/people/{person}", P.VIEW_PEOPLE),
    Route("GET", "/api/v1/people/{guardian}", P.VIEW_PEOPLE),
    Route("GET", "/api/v1/people/{person}/access-log", P.ACCESS_REPORT),
    Route("GET", "/api/v1/registry", P.VIEW_REGISTRY),
    Route("GET", "/api/v1/audit-log", P.VIEW_TRAIL),
    Route("GET", "/api/v1/audit-log/verify", P.VIEW_TRAIL),
    Route("GET", "/api/v1/campaigns", P.VIEW_CAMPAIGNS),
    Route("GET", "/api/v1/campaigns/{campaign}", P.VIEW_CAMPAIGNS),
    Route("GET", "/api/v1/campaigns/{campaign}/outstanding", P.MANAGE_CAMPAIGNS),
    Route(
        "POST",
        "/api/v1/campaigns/{campaign}/acknowledgments",
        P.MANAGE_CAMPAIGNS,
        body={"person_ids": ["{person}"]},
        elsewhere=403,
    ),
    Route(
        "POST",
        "/campaigns",
        P.RUN_CAMPAIGNS,
        form={"name": "Matrix", "due_on": DUE, "populations": "staff"},
        ok=303,
    ),
    Route(
        "POST", "/api/v1/campaigns", P.RUN_CAMPAIGNS, body={"name": "Matrix", "due_on": DUE}, ok=201
    ),
    # last: the routes above need the campaign open (closing again is harmless)
    Route("POST", "/campaigns/{campaign}/close", P.RUN_CAMPAIGNS, form={"confirm": "yes"}, ok=303),
    Route("POST", "/api/v1/campaigns/{campaign}/close", P.RUN_CAMPAIGNS),
]
SIGN_IN_ROUTES = {
    ("GET", "/login"),
    ("GET", "/login/oidc"),
    ("GET", "/login/oidc/callback"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("POST", "/api/v1/session"),
    ("DELETE", "/api/v1/session"),
}
PUBLIC_ROUTES = {("GET", "/ack/{token}"), ("POST", "/ack/{token}")}  # tests/web/test_campaigns.py
SCOPED = ("{finding}", "{case}", "{person}", "{guardian}", "{linked}")


def _fill(value: object, ids: dict[str, str]) -> object:
    if isinstance(value, str):
        for key, real in ids.items():
            value = value.replace("{" + key + "}", real)
        return value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _call(web: Web, route: Route, ids: dict[str, str]) -> int:
    path = str(_fill(route.path, ids))
    client = web.client
    headers = {"X-CSRF-Token": web.csrf}
    if route.method == "GET":
        return client.get(path, follow_redirects=False).status_code
    if route.form is not None:
        form = dict(_fill(route.form, ids))  # type: ignore[arg-type]
        form["csrf_token"] = web.csrf
        return client.post(path, data=form, follow_redirects=False).status_code
    return client.request(
        route.method, path, json=_fill(route.body, ids), headers=headers, follow_redirects=False
    ).status_code


def _ids(admin: Web, world: World, school: str, role: str = "admin") -> dict[str, str]:
    """A finding, a fresh case (status new), a student, a guardian of that school's students
    only, and the subject of that school's finding; people by pseudonym for a role that may
    not see ids."""
    finding = world.finding_a if school == "A" else world.finding_b
    answer = admin.client.post(
        "/api/v1/cases", json={"finding_ids": [finding]}, headers={"X-CSRF-Token": admin.csrf}
    )
    assert answer.status_code == 201, answer.text
    student = world.student_a if school == "A" else world.student_b
    with admin.app.state.store.transaction() as session:
        people = {
            "person": student,
            "guardian": _guardian_only_of(session, student),
            "linked": _subject(session, finding),
        }
        if not (allows(role, P.REVEAL_NAMES) and allows(role, P.VIEW_PEOPLE)):
            key = pseudonyms.key(session)
            people = {k: _pseudonym(session, key, v) for k, v in people.items()}
    return {"finding": finding, "finding_a": world.finding_a, "case": str(answer.json()["id"])} | (
        people
    )


def _subject(session: Session, finding_id: str) -> str:
    finding = session.get(Finding, finding_id)
    assert finding is not None
    return finding.subject_person_id


def _guardian_only_of(session: Session, student: str) -> str:
    """A guardian of this student with no other child (so of this school only)."""
    pk = session.scalar(select(Person.id).where(Person.person_id == student))
    for guardian_pk in session.scalars(
        select(GuardianLink.guardian_pk).where(GuardianLink.student_pk == pk)
    ):
        children = session.scalars(
            select(GuardianLink.student_pk).where(GuardianLink.guardian_pk == guardian_pk)
        ).all()
        if list(children) == [pk]:
            guardian = session.get(Person, guardian_pk)
            assert guardian is not None
            return guardian.person_id
    raise AssertionError(f"no guardian of {student} alone in the demo district")


def _pseudonym(session: Session, key: bytes, person_id: str) -> str:
    population = session.scalar(select(Person.population).where(Person.person_id == person_id))
    return pseudonyms.pseudonym(key, person_id, population)


def _name_the_other_schools_staff(admin: Web, world: World) -> None:
    """Finding A names finding B's subject (staff of school B only) as a counterpart."""
    with admin.app.state.store.transaction() as session:
        finding = session.get(Finding, world.finding_a)
        assert finding is not None
        finding.counterpart_person_ids = ";".join(
            [
                *filter(None, finding.counterpart_person_ids.split(";")),
                _subject(session, world.finding_b),
            ]
        )


def expected(role: str, route: Route, school: str) -> int:
    needs = [p for p in (route.permission, route.also) if p is not None]
    if not all(allows(role, p) for p in needs):
        return 403
    touches = f"{route.path} {route.body} {route.form}"
    if role == "principal" and school == "B" and any(s in touches for s in SCOPED):
        return route.elsewhere
    return route.ok


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_the_roles_table_says(
    role: str, web: Callable[[str | None], Web], world: World
) -> None:
    admin = web("admin")
    user = web(role)
    campaign = str(new_campaign(admin))
    _name_the_other_schools_staff(admin, world)
    wrong: list[str] = []
    for route in ROUTES:
        for school in ("A", "B"):
            ids = _ids(admin, world, school, role) | {"campaign": campaign}
            got = _call(user, route, ids)
            want = expected(role, route, school)
            if got != want:
                wrong.append(f"{route.method} {route.path} school {school}: {got}, expected {want}")
    assert wrong == []


def test_signed_out_requests_are_sent_to_sign_in(
    web: Callable[[str | None], Web], world: World
) -> None:
    admin = web("admin")
    ids = _ids(admin, world, "A") | {"campaign": str(new_campaign(admin))}
    anonymous = web(None)
    for route in ROUTES:
        got = _call(anonymous, route, ids)
        want = 401 if route.path.startswith("/api/") else 303
        assert got == want, f"{route.method} {route.path}: {got}"
    page = anonymous.client.get("/findings", follow_redirects=False)
    assert page.headers["location"] == "/login?next=%2Ffindings"


def test_the_matrix_covers_every_route_of_the_application(web: Callable[[str | None], Web]) -> None:
    app = web(None).app
    declared = {(r.method, r.path) for r in ROUTES} | SIGN_IN_ROUTES | PUBLIC_ROUTES
    served = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in route.methods - {"HEAD"}
    }
    served = {
        (
            m,
            p.replace("{finding_id}", "{finding}")
            .replace("{case_id}", "{case}")
            .replace("{person_id}", "{person}")
            .replace("{campaign_id}", "{campaign}")
            .replace("{code}", "matrix"),
        )
        for m, p in served
    }
    assert served - declared == set()

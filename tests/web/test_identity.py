"""Identity through one door: the breaks of issue 14, each tried as an attacker would.

A role that may not see names (the auditor) gets pseudonyms from every route, ids included:
the audit log, people search and pages, cases. A reveal is made on one finding or case, with
a reason, is recorded, and unmasks its people there only. A person page shows linked people
outside the viewer's scope only as a count, and records every linked person it shows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from chaperone.review import pseudonyms
from chaperone.store.models import Finding, GuardianLink, Person, Reveal
from chaperone.users.roles import allows
from tests.web.site import Web, World, new_campaign

pytestmark = pytest.mark.store  # run again on PostgreSQL by make test


def _json(answer: object) -> Any:
    return answer.json()  # type: ignore[attr-defined]


def _status(answer: object) -> int:
    code: int = answer.status_code  # type: ignore[attr-defined]
    return code


def pseudonym(web: Web, person_id: str) -> str:
    """What a viewer who may not see names is shown for this person."""
    with web.app.state.store.transaction() as session:
        person = session.scalar(select(Person).where(Person.person_id == person_id))
        population = person.population if person else None
        return pseudonyms.pseudonym(pseudonyms.key(session), person_id, population)


def name_of(web: Web, person_id: str) -> str:
    with web.app.state.store.transaction() as session:
        person = session.scalar(select(Person).where(Person.person_id == person_id))
        assert person is not None
        return str(person.display_name)


def people_of(web: Web, finding_id: str) -> list[str]:
    with web.app.state.store.transaction() as session:
        finding = session.get(Finding, finding_id)
        assert finding is not None
        return [finding.subject_person_id, *filter(None, finding.counterpart_person_ids.split(";"))]


def open_case(user: Web, finding_id: str, subject: str = "") -> object:
    body: dict[str, object] = {"finding_ids": [finding_id]}
    if subject:
        body["subject_person_id"] = subject
    return user.post("/api/v1/cases", json=body)


def test_an_auditor_reading_a_finding_then_the_audit_log_sees_no_district_id(
    web: Callable[[str | None], Web], world: World
) -> None:
    auditor = web("auditor")
    people = people_of(auditor, world.finding_a)
    subject = people[0]
    shown = _json(auditor.client.get(f"/api/v1/findings/{world.finding_a}"))
    assert shown["subject"] == pseudonym(auditor, subject)
    log = auditor.client.get("/api/v1/audit-log?limit=1000")
    page = auditor.client.get("/audit-log").text
    for text in (log.text, page):
        assert all(p not in text for p in people)
    view = next(e for e in _json(log) if e["action"] == "view" and e["object_type"] == "finding")
    assert pseudonym(auditor, subject) in view["person_ids"]
    # the pseudonym also filters the log; a guessed district id finds nothing
    by_pseudonym = _json(
        auditor.client.get("/api/v1/audit-log", params={"person_id": shown["subject"]})
    )
    assert by_pseudonym and all(shown["subject"] in e["person_ids"] for e in by_pseudonym)
    assert _json(auditor.client.get("/api/v1/audit-log", params={"person_id": subject})) == []
    assert all(e["action"] != "reveal" for e in _json(log))


def test_an_auditor_gets_no_name_from_a_person_page_by_id_or_by_pseudonym(
    web: Callable[[str | None], Web], world: World
) -> None:
    auditor = web("auditor")
    subject = people_of(auditor, world.finding_a)[0]
    name, alias = name_of(auditor, subject), pseudonym(auditor, subject)
    assert _status(auditor.client.get(f"/api/v1/people/{subject}")) == 404
    assert _status(auditor.client.get(f"/people/{subject}")) == 404
    api = auditor.client.get(f"/api/v1/people/{alias}")
    page = auditor.client.get(f"/people/{alias}")
    assert _status(api) == 200 and _status(page) == 200
    assert _json(api)["name"] == alias and _json(api)["person_id"] == alias
    assert _json(api)["accounts"] == []
    for text in (api.text, page.text):
        assert name not in text and subject not in text
    record = auditor.client.get(f"/api/v1/people/{alias}/access-log")
    assert _status(record) == 200 and subject not in record.text


def test_an_auditor_finds_nobody_by_name_and_people_by_pseudonym(
    web: Callable[[str | None], Web], world: World
) -> None:
    auditor = web("auditor")
    name, alias = name_of(auditor, world.student_a), pseudonym(auditor, world.student_a)
    assert _json(auditor.client.get("/api/v1/people", params={"q": name})) == []
    assert _json(auditor.client.get("/api/v1/people", params={"q": world.student_a})) == []
    found = _json(auditor.client.get("/api/v1/people", params={"q": alias.split()[1]}))
    assert [(p["person_id"], p["name"]) for p in found] == [(alias, alias)]
    listing = auditor.client.get("/people").text
    assert name not in listing and world.student_a not in listing


def test_an_auditor_gets_the_pseudonym_as_a_cases_subject(
    web: Callable[[str | None], Web], world: World
) -> None:
    admin, auditor = web("admin"), web("auditor")
    subject = people_of(admin, world.finding_a)[0]
    case = _json(open_case(admin, world.finding_a))
    one = auditor.client.get(f"/api/v1/cases/{case['id']}")
    many = auditor.client.get("/api/v1/cases")
    page = auditor.client.get(f"/cases/{case['id']}")
    assert _json(one)["subject_person_id"] == pseudonym(auditor, subject)
    for text in (one.text, many.text, page.text, auditor.client.get("/cases").text):
        assert subject not in text and name_of(admin, subject) not in text


def _two_findings_of_one_subject(web: Web, world: World) -> tuple[str, str]:
    subject = people_of(web, world.finding_a)[0]
    with web.app.state.store.transaction() as session:
        ids = list(
            session.scalars(
                select(Finding.finding_id)
                .where(Finding.subject_person_id == subject, Finding.active)
                .order_by(Finding.finding_id)
            )
        )
    assert len(ids) >= 2, "the demo district gives the subject of finding_a several findings"
    other = next(i for i in ids if i != world.finding_a)
    return world.finding_a, other


def test_a_reveal_unmasks_its_finding_only_not_the_rest_of_the_queue(
    web: Callable[[str | None], Web], world: World
) -> None:
    reviewer = web("reviewer")
    revealed, other = _two_findings_of_one_subject(reviewer, world)
    subject = people_of(reviewer, revealed)[0]
    name, alias = name_of(reviewer, subject), pseudonym(reviewer, subject)
    answer = reviewer.post(f"/api/v1/findings/{revealed}/reveal", json={"reason": "interview"})
    assert _status(answer) == 200 and _json(answer)["subject"] == name
    rows = _json(reviewer.client.get("/api/v1/findings?status=all&per_page=500"))["findings"]
    subjects = {r["finding_id"]: r["subject"] for r in rows}
    assert subjects[revealed] == name and subjects[other] == alias
    assert [s for f, s in subjects.items() if s == name] == [name]
    again = _json(reviewer.client.get(f"/api/v1/findings/{other}"))
    assert again["subject"] == alias and again["subject_party"]["person_id"] is None
    queue_page = reviewer.client.get("/findings?status=all").text
    assert queue_page.count(name) <= 1
    with reviewer.app.state.store.transaction() as session:
        kept = session.execute(select(Reveal.object_type, Reveal.object_id, Reveal.person_id))
        assert {(t, o) for t, o, _p in kept} == {("finding", revealed)}


def test_a_reveal_on_a_finding_does_not_unmask_a_case_and_a_case_reveal_is_recorded(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer = web("compliance_officer")
    subject = people_of(officer, world.finding_a)[0]
    name, alias = name_of(officer, subject), pseudonym(officer, subject)
    case = _json(open_case(officer, world.finding_a))
    officer.post(f"/api/v1/findings/{world.finding_a}/reveal", json={"reason": "interview"})
    shown = _json(officer.client.get(f"/api/v1/cases/{case['id']}"))
    assert (shown["subject"], shown["subject_person_id"], shown["revealed"]) == (
        alias,
        alias,
        False,
    )
    assert _status(officer.post(f"/api/v1/cases/{case['id']}/reveal", json={"reason": ""})) == 422
    answer = officer.post(f"/api/v1/cases/{case['id']}/reveal", json={"reason": "HR meeting"})
    assert _json(answer)["subject"] == name and _json(answer)["subject_person_id"] == subject
    assert name in officer.client.get(f"/cases/{case['id']}").text
    entry = next(
        e for e in _json(officer.client.get("/api/v1/audit-log")) if e["action"] == "reveal"
    )
    assert (entry["object_type"], entry["object_id"], entry["detail"]) == (
        "case",
        str(case["id"]),
        "HR meeting",
    )
    assert entry["person_ids"] == [subject]
    assert (
        _status(web("auditor").post(f"/api/v1/cases/{case['id']}/reveal", json={"reason": "x"}))
        == 403
    )


def _link_counterpart(web: Web, finding_id: str, person_id: str) -> None:
    with web.app.state.store.transaction() as session:
        finding = session.get(Finding, finding_id)
        assert finding is not None
        finding.counterpart_person_ids = ";".join(
            [*filter(None, finding.counterpart_person_ids.split(";")), person_id]
        )


def test_a_principal_cannot_open_a_case_about_another_schools_person(
    web: Callable[[str | None], Web], world: World
) -> None:
    admin, principal = web("admin"), web("principal")
    elsewhere = people_of(admin, world.finding_b)[0]  # staff of the other school only
    _link_counterpart(admin, world.finding_a, elsewhere)  # a finding of theirs names them
    before = len(_json(admin.client.get("/api/v1/cases")))
    for chosen in (elsewhere, pseudonym(admin, elsewhere)):
        assert _status(open_case(principal, world.finding_a, chosen)) == 403
    assert len(_json(admin.client.get("/api/v1/cases"))) == before
    assert _status(open_case(admin, world.finding_a, elsewhere)) == 201
    assert _status(open_case(principal, world.finding_a)) == 201  # their own person: fine


def test_a_case_is_assigned_only_to_someone_who_may_see_it(
    web: Callable[[str | None], Web], world: World
) -> None:
    principal = web("principal")
    case = _json(open_case(principal, world.finding_a))
    refused = principal.post(
        f"/api/v1/cases/{case['id']}/assignee", json={"username": "principal_b"}
    )
    assert _status(refused) == 400
    assert (
        _status(
            principal.post(f"/api/v1/cases/{case['id']}/assignee", json={"username": "reviewer"})
        )
        == 400
    )  # a reviewer sees no cases
    fine = principal.post(f"/api/v1/cases/{case['id']}/assignee", json={"username": "hr"})
    assert _status(fine) == 200


def _guardian_of_both_schools(web: Web, world: World) -> str:
    """A guardian of a school-A student who is made a guardian of a school-B student too."""
    with web.app.state.store.transaction() as session:
        pk = {
            p.person_id: p.id
            for p in session.scalars(
                select(Person).where(Person.person_id.in_([world.student_a, world.student_b]))
            )
        }
        guardian_pk = session.scalar(
            select(GuardianLink.guardian_pk).where(GuardianLink.student_pk == pk[world.student_a])
        )
        assert guardian_pk is not None, "students of the demo district have guardians"
        session.add(
            GuardianLink(guardian_pk=guardian_pk, student_pk=pk[world.student_b], source="test")
        )
        guardian = session.get(Person, guardian_pk)
        assert guardian is not None
        return str(guardian.person_id)


def _viewed_by(admin: Web, person_id: str, username: str) -> bool:
    record = _json(admin.client.get(f"/api/v1/people/{person_id}/access-log"))
    return any(e["actor"] == username and e["action"] == "view" for e in record)


# role -> (child of school A shown, child of school B shown, names shown, B as a count)
LINKED = {
    "admin": (True, True, True, 0),
    "compliance_officer": (True, True, True, 0),
    "hr": (True, True, True, 0),
    "principal": (True, False, True, 1),
    "auditor": (True, True, False, 0),
}


@pytest.mark.parametrize("role", sorted(LINKED))
def test_a_guardians_page_shows_linked_children_as_the_role_and_scope_allow_and_records_them(
    role: str, web: Callable[[str | None], Web], world: World
) -> None:
    admin, user = web("admin"), web(role)
    guardian = _guardian_of_both_schools(admin, world)
    show_a, show_b, names, elsewhere = LINKED[role]
    address = guardian if names else pseudonym(admin, guardian)
    page = user.client.get(f"/people/{address}").text
    detail = _json(user.client.get(f"/api/v1/people/{address}"))
    for child, shown in ((world.student_a, show_a), (world.student_b, show_b)):
        as_shown = child if names else pseudonym(admin, child)
        assert (as_shown in detail["student_ids"]) is shown
        assert (name_of(admin, child) in page) is (shown and names)
        assert child not in json.dumps(detail) or names
        assert _viewed_by(admin, child, role) is shown  # the child's record of access
    assert detail["students_elsewhere"] == elsewhere
    if elsewhere:
        assert f"{elsewhere} more outside your schools" in page


def test_no_page_or_api_answer_gives_an_auditor_a_name_or_a_district_id(
    web: Callable[[str | None], Web], world: World
) -> None:
    from tests.web.test_authorization import ROUTES, _fill, _ids

    admin, auditor = web("admin"), web("auditor")
    campaign = str(new_campaign(admin))
    admin.client.get(f"/people/{world.student_a}")  # something about them in the log
    secret: set[str] = set()
    for school in ("A", "B"):
        real = _ids(admin, world, school)
        shown = _ids(admin, world, school, "auditor") | {"campaign": campaign}
        for person in (real["person"], real["guardian"], *people_of(admin, real["finding"])):
            secret |= {person, name_of(admin, person)}
        for route in ROUTES:
            if route.method != "GET" or not all(
                allows("auditor", p) for p in (route.permission, route.also) if p is not None
            ):
                continue
            path = str(_fill(route.path, shown))
            answer = auditor.client.get(path)
            assert _status(answer) == 200, path
            leaked = sorted(s for s in secret if s in answer.text)
            assert leaked == [], f"{path} shows {leaked}"


def test_an_outstanding_list_names_only_the_people_the_principal_may_see(
    web: Callable[[str | None], Web], world: World
) -> None:
    from chaperone.store.models import Notice, Org, PersonOrg

    admin, principal = web("admin"), web("principal")
    number = new_campaign(admin)
    with admin.app.state.store.transaction() as session:  # a teacher moves after the send
        notice = session.scalars(
            select(Notice)
            .where(Notice.campaign_id == number, Notice.school == world.school_a)
            .where(Notice.population == "staff", Notice.address.is_not(None))
            .order_by(Notice.person_id)
        ).first()
        assert notice is not None
        moved, address = notice.person_id, str(notice.address)
        person = session.scalar(select(Person).where(Person.person_id == moved))
        assert person is not None
        school = {o.org_id: o.id for o in session.scalars(select(Org))}
        session.query(PersonOrg).filter(PersonOrg.person_pk == person.id).delete()
        session.add(PersonOrg(person_pk=person.id, org_pk=school[world.school_b]))
    name, alias = name_of(admin, moved), pseudonym(admin, moved)
    listed = principal.client.get(
        f"/api/v1/campaigns/{number}/outstanding", params={"per_page": 500}
    )
    page = principal.client.get(f"/campaigns/{number}/outstanding", params={"population": "staff"})
    csv = principal.client.get(f"/campaigns/{number}/outstanding.csv")
    row = next(p for p in _json(listed)["people"] if p["person_id"] == alias)
    assert (row["given_name"], row["family_name"]) == ("", "") and row["address"] != address
    for text in (listed.text, page.text, csv.text):
        assert name not in text and moved not in text and address not in text
    assert alias in page.text and alias in csv.text
    officer = _json(
        admin.client.get(f"/api/v1/campaigns/{number}/outstanding", params={"per_page": 500})
    )
    assert any(p["person_id"] == moved and p["address"] == address for p in officer["people"])
    recorded = principal.post(
        f"/api/v1/campaigns/{number}/acknowledgments", json={"person_ids": [alias]}
    )
    assert _status(recorded) == 200, recorded.text  # type: ignore[attr-defined]

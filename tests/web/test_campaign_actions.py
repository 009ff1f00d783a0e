"""Staff actions on a campaign (Policy 9052 §D): the list of who is still to acknowledge,
its CSV download, and acknowledgments signed on paper, on the pages and in the API. A
principal works only with notices of their schools; every listing and download is in the
audit log with the people it showed. The browser run is in test_browser.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from chaperone.acknowledge import campaigns
from chaperone.cli.campaigns import OUTSTANDING_COLUMNS
from chaperone.store.models import Notice, Person, TrailEntry
from tests.web.site import Web, World, new_campaign
from tests.web.test_hostile import MARKUP, OURS

pytestmark = pytest.mark.store  # run again on PostgreSQL by make test

TODAY = dt.date.today()
ROW_BOX = re.compile(r'name="person_ids" value="([^"]+)"')


def _outstanding(web: Web, number: int, **query: object) -> list[dict[str, object]]:
    answer = web.client.get(
        f"/api/v1/campaigns/{number}/outstanding", params={"per_page": 500, **query}
    )
    assert answer.status_code == 200, answer.text
    people: list[dict[str, object]] = answer.json()["people"]
    return people


def _entries(web: Web, action: str) -> list[TrailEntry]:
    with web.app.state.store.transaction() as session:
        found = session.scalars(
            select(TrailEntry)
            .where(TrailEntry.action == action, TrailEntry.object_type == "campaign")
            .order_by(TrailEntry.seq)
        ).all()
        for entry in found:
            session.expunge(entry)
        return list(found)


def _ids(entry: TrailEntry) -> set[str]:
    return {p for p in entry.person_ids.split(";") if p}


def _acknowledged(web: Web, number: int) -> dict[str, Notice]:
    with web.app.state.store.transaction() as session:
        found = session.scalars(
            select(Notice).where(Notice.campaign_id == number, Notice.acknowledged_at.is_not(None))
        ).all()
        for notice in found:
            session.expunge(notice)
        return {n.person_id: n for n in found}


def _school_of(web: Web, number: int, school: str, count: int = 1) -> list[str]:
    people = _outstanding(web, number, school=school)
    assert len(people) >= count
    return [str(p["person_id"]) for p in people[:count]]


def _form(web: Web, number: int, person_ids: list[str], **more: str) -> object:
    data: dict[str, object] = {"csrf_token": web.csrf, "person_ids": person_ids, **more}
    return web.client.post(f"/campaigns/{number}/record", data=data, follow_redirects=False)


def test_a_principal_lists_only_their_schools_people_and_each_view_is_recorded(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer, principal = web("compliance_officer"), web("principal")
    number = new_campaign(officer)
    everyone = _outstanding(officer, number)
    theirs = _outstanding(principal, number)
    assert {world.school_a, world.school_b} <= {p["school"] for p in everyone}
    assert theirs and {p["school"] for p in theirs} == {world.school_a}
    assert {p["person_id"] for p in theirs} < {p["person_id"] for p in everyone}
    page = principal.client.get(f"/campaigns/{number}/outstanding")
    assert page.status_code == 200 and "Showing your schools only." in page.text
    shown = set(ROW_BOX.findall(page.text))
    assert len(shown) == min(50, len(theirs))
    views = [e for e in _entries(officer, "view") if e.actor == "principal"]
    assert [(e.object_id, len(_ids(e))) for e in views] == [
        (str(number), len(theirs)),
        (str(number), len(shown)),
    ]
    assert _ids(views[0]) == {p["person_id"] for p in theirs} and _ids(views[1]) == shown


def test_the_list_shows_names_links_to_the_directory_and_filters(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer = web("compliance_officer")
    number = new_campaign(officer)
    staff = _outstanding(officer, number, population="staff", school=world.school_a)
    assert staff and {(p["population"], p["school"]) for p in staff} == {("staff", world.school_a)}
    first = staff[0]
    assert first["given_name"] and first["address"] and first["send_count"] == 0
    page = officer.client.get(
        f"/campaigns/{number}/outstanding",
        params={"population": "staff", "school": world.school_a},
    ).text
    assert set(ROW_BOX.findall(page)) == {p["person_id"] for p in staff}
    name = f"{first['given_name']} {first['family_name']}"
    assert f'<a href="/people/{first["person_id"]}"><bdi>{name}</bdi></a>' in page
    assert f"{len(staff)} people still to acknowledge" in page
    big = officer.client.get(f"/campaigns/{number}/outstanding").text
    assert "page 1 of" in big and "page=2" in big and len(ROW_BOX.findall(big)) == 50


def test_the_csv_has_the_clis_columns_and_the_download_is_recorded(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer, principal = web("compliance_officer"), web("principal")
    number = new_campaign(officer)
    answer = principal.client.get(f"/campaigns/{number}/outstanding.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert answer.text.splitlines()[0].split(",") == OUTSTANDING_COLUMNS
    assert rows and {r["school"] for r in rows} == {world.school_a}
    assert [r["person_id"] for r in rows] == [
        p["person_id"] for p in _outstanding(officer, number) if p["school"] == world.school_a
    ]
    exports = _entries(officer, "export")
    assert [(e.actor, e.object_id) for e in exports] == [("principal", str(number))]
    assert _ids(exports[0]) == {r["person_id"] for r in rows}
    assert exports[0].detail == f"outstanding list, {len(rows)} people"
    staff = officer.client.get(f"/campaigns/{number}/outstanding.csv?population=staff").text
    assert {r["population"] for r in csv.DictReader(io.StringIO(staff))} == {"staff"}


def test_recording_paper_acknowledgments_with_the_form(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer = web("compliance_officer")
    number = new_campaign(officer, opens_on=TODAY - dt.timedelta(days=10))
    before = len(_outstanding(officer, number))
    chosen = _school_of(officer, number, world.school_a, 3)
    signed = (TODAY - dt.timedelta(days=2)).isoformat()
    answer = _form(officer, number, chosen, signed_on=signed, school=world.school_a)
    assert answer.status_code == 303  # type: ignore[attr-defined]
    target = answer.headers["location"]  # type: ignore[attr-defined]
    assert target.startswith(f"/campaigns/{number}/outstanding?school=")
    page = officer.client.get(target).text
    assert "3 recorded, 0 had already acknowledged" in page
    done = _acknowledged(officer, number)
    assert set(done) == set(chosen)
    for notice in done.values():
        assert notice.acknowledged_via == "paper" and notice.recorded_by == "compliance_officer"
        assert notice.acknowledged_at is not None
        assert notice.acknowledged_at.date().isoformat() == signed
    assert len(_outstanding(officer, number)) == before - 3
    again = _form(officer, number, [chosen[0]], signed_on=signed)
    assert (
        "0 recorded, 1 had already acknowledged"
        in officer.client.get(
            again.headers["location"]  # type: ignore[attr-defined]
        ).text
    )
    records = _entries(officer, "record")
    assert [(e.actor, _ids(e)) for e in records] == [("compliance_officer", set(chosen))]


def test_a_form_without_the_csrf_token_records_nothing(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer = web("compliance_officer")
    number = new_campaign(officer)
    chosen = _school_of(officer, number, world.school_a)
    for token in ("", "forged"):
        refused = officer.client.post(
            f"/campaigns/{number}/record",
            data={"csrf_token": token, "person_ids": chosen},
            follow_redirects=False,
        )
        assert refused.status_code == 403
        assert "the form expired" in refused.text
    refused = officer.client.post(
        f"/api/v1/campaigns/{number}/acknowledgments", json={"person_ids": chosen}
    )
    assert refused.status_code == 403
    assert _acknowledged(officer, number) == {}


@pytest.mark.parametrize(
    ("signed_on", "chosen", "message"),
    [
        ((TODAY + dt.timedelta(days=1)).isoformat(), 1, "is in the future"),
        ((TODAY - dt.timedelta(days=9)).isoformat(), 1, "is before the campaign opened"),
        ("14/09/2026", 1, "is not a date; give the signing date as YYYY-MM-DD"),
        (TODAY.isoformat(), 0, "Choose at least one person who signed."),
    ],
)
def test_a_wrong_signing_date_is_explained_and_nothing_recorded(
    signed_on: str, chosen: int, message: str, web: Callable[[str | None], Web], world: World
) -> None:
    officer = web("compliance_officer")
    number = new_campaign(officer, opens_on=TODAY - dt.timedelta(days=5))
    people = _school_of(officer, number, world.school_a)[:chosen]
    answer = _form(officer, number, people, signed_on=signed_on)
    assert answer.status_code == 400  # type: ignore[attr-defined]
    text = answer.text  # type: ignore[attr-defined]
    assert message in text and 'role="alert"' in text
    assert "Record paper acknowledgments" in text  # the form again, to correct
    if people and "/" not in signed_on:
        refused = officer.post(
            f"/api/v1/campaigns/{number}/acknowledgments",
            json={"person_ids": people, "signed_on": signed_on},
        )
        assert refused.status_code == 400  # type: ignore[attr-defined]
        assert message in refused.json()["detail"]  # type: ignore[attr-defined]
    assert _acknowledged(officer, number) == {}


def test_a_principal_cannot_record_for_another_schools_people(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer, principal = web("compliance_officer"), web("principal")
    number = new_campaign(officer)
    mine = _school_of(officer, number, world.school_a)
    other = _school_of(officer, number, world.school_b)
    for people in (other, mine + other):
        assert _form(principal, number, people).status_code == 403  # type: ignore[attr-defined]
        answer = principal.post(
            f"/api/v1/campaigns/{number}/acknowledgments", json={"person_ids": people}
        )
        assert answer.status_code == 403  # type: ignore[attr-defined]
    assert _acknowledged(officer, number) == {}
    answer = principal.post(
        f"/api/v1/campaigns/{number}/acknowledgments", json={"person_ids": mine}
    )
    assert answer.json() == {"recorded": 1, "already": 0}  # type: ignore[attr-defined]
    assert set(_acknowledged(officer, number)) == set(mine)
    elsewhere = new_campaign(officer, name="Only B", schools=[world.school_b])
    assert principal.client.get(f"/campaigns/{elsewhere}/outstanding").status_code == 404


def test_a_closed_campaign_lists_but_takes_no_paper_acknowledgment(
    web: Callable[[str | None], Web], world: World
) -> None:
    officer = web("compliance_officer")
    number = new_campaign(officer)
    chosen = _school_of(officer, number, world.school_a)
    with officer.app.state.store.transaction() as session:
        campaigns.close(session, campaigns.get(session, number), closed_by="admin")
    page = officer.client.get(f"/campaigns/{number}/outstanding").text
    assert "This campaign is closed" in page
    assert "Record paper acknowledgments" not in page and "person_ids" not in page
    refused = _form(officer, number, chosen)
    assert refused.status_code == 409 and "is closed" in refused.text  # type: ignore[attr-defined]
    api = officer.post(f"/api/v1/campaigns/{number}/acknowledgments", json={"person_ids": chosen})
    assert api.status_code == 409  # type: ignore[attr-defined]
    assert _acknowledged(officer, number) == {}


@pytest.mark.parametrize("role", ["reviewer", "auditor", "hr"])
def test_roles_that_may_not_manage_campaigns_are_refused(
    role: str, web: Callable[[str | None], Web], world: World
) -> None:
    officer, user = web("compliance_officer"), web(role)
    number = new_campaign(officer)
    chosen = _school_of(officer, number, world.school_a)
    for path in (
        f"/campaigns/{number}/outstanding",
        f"/campaigns/{number}/outstanding.csv",
        f"/api/v1/campaigns/{number}/outstanding",
    ):
        assert user.client.get(path).status_code == 403, path
    assert _form(user, number, chosen).status_code == 403  # type: ignore[attr-defined]
    api = user.post(f"/api/v1/campaigns/{number}/acknowledgments", json={"person_ids": chosen})
    assert api.status_code == 403  # type: ignore[attr-defined]
    assert _acknowledged(officer, number) == {}
    logged = _entries(officer, "view") + _entries(officer, "export")
    assert [e for e in logged if e.actor == role] == []
    if role != "reviewer":  # they still see the counts, without the link to the list
        page = user.client.get(f"/campaigns/{number}").text
        assert "outstanding</a>" not in page and f"/campaigns/{number}/outstanding" not in page
    assert f"/campaigns/{number}/outstanding" in officer.client.get(f"/campaigns/{number}").text


@pytest.mark.parametrize("name", [s[:255] for s in OURS])
def test_hostile_names_render_escaped_in_the_outstanding_list(
    name: str, web: Callable[[str | None], Web], world: World
) -> None:
    officer = web("compliance_officer")
    number = new_campaign(officer, populations=["staff"])
    with officer.app.state.store.transaction() as session:
        for notice in session.scalars(select(Notice).where(Notice.campaign_id == number)):
            notice.last_error = name
            notice.address = name[:320]
        for person in session.scalars(select(Person).where(Person.population == "staff")):
            person.given_name = name
            person.family_name = name
    page = officer.client.get(f"/campaigns/{number}/outstanding")
    assert page.status_code == 200
    for bad in MARKUP:
        assert bad not in page.text, bad
    if name.startswith("<script>"):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
